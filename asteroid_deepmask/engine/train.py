"""Training as in the paper's Sec. 3.3, with Asteroid's ``System`` and Lightning (:mod:`.system`).

Negative SNR with PIT; Adam (lr 1e-3); learning rate halved when the epoch's *training* loss has
not improved for 3 epochs; gradient-norm clip 5; early stop after 15 epochs without a better
validation loss. Everything is read from the recipe's ``conf.yml`` and can be overridden.
A run that is killed resumes from ``checkpoints/last.ckpt``, written every few steps.
"""
import json
import logging
import os
import platform
import time
from datetime import timedelta
from pathlib import Path

import pytorch_lightning as pl
import torch
import yaml
from asteroid.engine.optimizers import make_optimizer
from asteroid.losses import PITLossWrapper, pairwise_neg_snr
from pytorch_lightning.callbacks import EarlyStopping, LearningRateMonitor, ModelCheckpoint, Timer
from pytorch_lightning.loggers import CSVLogger, TensorBoardLogger
from torch.optim.lr_scheduler import ReduceLROnPlateau
from torch.utils.data import DataLoader

from ..data.datasets import check_json_dir, make_dataset, make_training_dataset
from ..losses import DynamicGroupingLoss
from .conf import corpus_settings, model_from_conf
from .precision import check_cpu_precision, resolve_precision
from .system import EpochLossSystem

log = logging.getLogger(__name__)


def _max_time(value):
    """Lightning's ``max_time`` from the conf: None, seconds, or "DD:HH:MM:SS"."""
    if value in (None, "", "None", 0):
        return None
    if isinstance(value, (int, float)):
        return timedelta(seconds=value)
    return str(value)


def train(conf: dict, exp_dir) -> Path:
    """Train (or resume) the model of ``conf`` in ``exp_dir``; returns the path of ``best_model.pth``."""
    exp_dir = Path(exp_dir)
    exp_dir.mkdir(parents=True, exist_ok=True)
    data, training = conf["data"], conf["training"]
    check_json_dir(data["valid_dir"], "validation")
    if str(training.get("precision")) == "auto":  # resolved here, and conf.yml records what was used
        training["precision"] = resolve_precision("auto", training.get("accelerator", "auto"))
        log.info("precision auto: %s", training["precision"])
    (exp_dir / "conf.yml").write_text(yaml.safe_dump(conf))
    # Recorded now, from the data actually read, for the model card written later.
    pl.seed_everything(training["seed"], workers=True)
    train_set, train_sampler = make_training_dataset(conf)
    settings = corpus_settings(conf)
    if train_sampler is not None:  # mixed on the fly: the speakers it draws from
        bank = train_set.bank
        settings["train_speakers"] = {"root": str(bank.root.resolve()), "speakers": len(bank), "minutes": round(bank.total_seconds / 60, 1),
                                      "skipped_files": len(bank.skipped), "examples_per_epoch": len(train_set), "augment": train_set.augment.describe()}
    (exp_dir / "corpus.json").write_text(json.dumps(settings, indent=2))

    def loader(dataset, where, shuffle, sampler=None):
        if len(dataset) < training["batch_size"]:
            raise ValueError(
                f"{where} has {len(dataset)} utterances of at least {data['segment']} s, fewer than "
                f"one batch of {training['batch_size']}: lower data.segment or make the corpus larger."
            )
        return DataLoader(
            dataset,
            batch_size=training["batch_size"],
            shuffle=shuffle and sampler is None,
            sampler=sampler,
            drop_last=True,
            num_workers=training["num_workers"],
            persistent_workers=training["num_workers"] > 0,
        )

    model = model_from_conf(conf)
    optimizer = make_optimizer(model.parameters(), **conf["optim"])
    scheduler = {
        "scheduler": ReduceLROnPlateau(optimizer, mode="min", factor=0.5, patience=training["lr_patience"]),
        "monitor": "loss_epoch",
        "interval": "epoch",
    }
    system = EpochLossSystem(
        model=model,
        optimizer=optimizer,
        loss_func=PITLossWrapper(pairwise_neg_snr, pit_from="pw_mtx"),
        branch_loss=DynamicGroupingLoss(model.masker.n_src, equal_size=model.equal_groups)
        if getattr(model, "grouping", "fixed") == "dynamic" else None,
        train_loader=loader(train_set, data.get("train_speakers") or data["train_dir"], shuffle=True, sampler=train_sampler),
        val_loader=loader(make_dataset(data, data["valid_dir"], data["segment"]), data["valid_dir"], shuffle=False),
        scheduler=scheduler,
        config=conf,
        compile_training=bool(training.get("compile", False)),
    )
    ckpt_dir = exp_dir / "checkpoints"
    best = ModelCheckpoint(dirpath=ckpt_dir, monitor="val_loss", mode="min", save_top_k=training["save_top_k"], filename="{epoch}-{val_loss:.3f}")
    # A separate, step-based "last" checkpoint, so that a run killed mid-epoch loses little.
    last = ModelCheckpoint(dirpath=ckpt_dir, save_top_k=0, save_last=True, every_n_train_steps=training["checkpoint_every_n_steps"])
    # The wall-clock budget (what Trainer(max_time=...) would add), and the training time counted
    # across resumes: Lightning's Timer keeps its elapsed time in the checkpoint.
    timer = Timer(duration=_max_time(training.get("max_time")), interval="step")
    callbacks = [best, last, LearningRateMonitor(logging_interval="epoch"), timer]
    if training["early_stop_patience"]:
        callbacks.append(EarlyStopping(monitor="val_loss", mode="min", patience=training["early_stop_patience"]))
    trainer = pl.Trainer(
        default_root_dir=exp_dir,
        max_epochs=training["max_epochs"],
        limit_train_batches=training.get("limit_train_batches") or 1.0,
        callbacks=callbacks,
        logger=[CSVLogger(exp_dir, name="logs"), TensorBoardLogger(exp_dir, name="tb")],
        gradient_clip_val=training["gradient_clip_val"],
        accelerator=training.get("accelerator", "auto"),
        devices=training.get("devices", "auto"),
        num_nodes=training.get("num_nodes", 1),
        strategy=training.get("strategy", "auto"),
        precision=training.get("precision", "32-true"),
        log_every_n_steps=min(50, training["checkpoint_every_n_steps"]),
    )
    if type(trainer.accelerator).__name__ == "CPUAccelerator":
        check_cpu_precision(trainer.precision)
    resume = ckpt_dir / "last.ckpt"
    resumed = resume.exists()
    if resumed:
        log.info("Resuming from %s", resume)
    started = time.time()
    trainer.fit(system, ckpt_path=str(resume) if resumed else None)
    if trainer.global_rank != 0:
        return exp_dir / "best_model.pth"
    hardware = {
        "accelerator": type(trainer.accelerator).__name__,
        "devices": trainer.num_devices * trainer.num_nodes,
        "torch_threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
        "gpu": torch.cuda.get_device_name(0) if trainer.accelerator.__class__.__name__ == "CUDAAccelerator" else None,
        "precision": str(trainer.precision),
        "wall_time_s": round(time.time() - started, 1),  # this invocation
        "train_time_s": round(timer.time_elapsed("train"), 1),  # all of them
        "last_step": trainer.global_step,  # the best checkpoint's own step is global_step
        "resumed": resumed,
    }
    return publish_best(best.best_model_path or str(resume), conf, exp_dir, hardware)


def publish_best(checkpoint_path, conf: dict, exp_dir, hardware: dict = None) -> Path:
    """Write the checkpoint's model as ``best_model.pth`` (``serialize()`` format) beside the run."""
    exp_dir = Path(exp_dir)
    checkpoint = torch.load(checkpoint_path, map_location="cpu", weights_only=True)
    model = model_from_conf(conf)
    model.load_state_dict({k[len("model.") :]: v for k, v in checkpoint["state_dict"].items() if k.startswith("model.")})
    package = model.serialize()
    package["infos"]["training"] = {
        "checkpoint": os.path.basename(checkpoint_path),
        "epoch": int(checkpoint.get("epoch", -1)),
        "global_step": int(checkpoint.get("global_step", -1)),
        **(hardware or {}),
    }
    path = exp_dir / "best_model.pth"
    torch.save(package, path)
    (exp_dir / "best_model.json").write_text(json.dumps(package["infos"], indent=2))
    log.info("Wrote %s (from %s)", path, checkpoint_path)
    return path
