"""Training as in the paper's Sec. 3.3, with Asteroid's ``System`` and Lightning.

Negative SNR with PIT; Adam (lr 1e-3); learning rate halved when the epoch's *training* loss has
not improved for 3 epochs; gradient-norm clip 5; early stop after 15 epochs without a better
validation loss. Everything is read from the recipe's ``conf.yml`` and can be overridden.
A run that is killed resumes from ``checkpoints/last.ckpt``, written every few steps.
"""
import argparse
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
from asteroid.engine import System
from asteroid.engine.optimizers import make_optimizer
from asteroid.losses import PITLossWrapper, pairwise_neg_snr
from pytorch_lightning.callbacks import EarlyStopping, LearningRateMonitor, ModelCheckpoint, Timer
from pytorch_lightning.loggers import CSVLogger, TensorBoardLogger
from torch.optim.lr_scheduler import ReduceLROnPlateau
from torch.utils.data import DataLoader

from ..data.datasets import check_json_dir, make_dataset, make_training_dataset
from ..losses import DynamicGroupingLoss
from ..models import MODEL_ALIASES, make_model

log = logging.getLogger(__name__)

# Which conf["head"] keys each head takes; the rest of the head section is ignored for it.
HEAD_KEYS = {
    "baseline": ("mask_act", "gated_head"),
    "overseparation": ("n_outputs", "mask_act", "gated_head", "grouping", "equal_groups"),
    "deepmask": ("mlp_hidden", "mlp_layers", "mlp_act", "mask_act", "gated_head"),
}
# The recipe confs' separator sections; a model alias "<separator>_<head>" picks one, a bare head DPRNN.
SEPARATOR_SECTIONS = {"dprnn": "masknet", "convtasnet": "masknet_convtasnet", "dptnet": "masknet_dptnet"}


def _split_model_name(name: str):
    """``"convtasnet_deepmask"`` -> ``("convtasnet", "deepmask")``; ``"deepmask"`` -> ``("dprnn", "deepmask")``."""
    separator, _, head = name.rpartition("_")
    separator = separator or "dprnn"
    if head not in HEAD_KEYS or separator not in SEPARATOR_SECTIONS:
        models = sorted(f"{s}_{h}" if s != "dprnn" else h for s in SEPARATOR_SECTIONS for h in HEAD_KEYS)
        raise ValueError(f"Unknown model {name!r} in the configuration: expected one of {models}.")
    return separator, head


def conf_with_overrides(conf_path, args=()) -> dict:
    """A recipe's ``conf.yml`` with ``--key value`` overrides of any of its keys (Asteroid's parser).

    The separator named by the model (``--model`` if given, else the conf's ``head.model``) takes
    its section of the conf as ``masknet``; the other separators' sections are dropped (their keys
    share names, e.g. ``n_repeats``, so only one can take overrides).
    """
    from asteroid.utils import parse_args_as_dict, prepare_parser_from_dict

    conf = yaml.safe_load(Path(conf_path).read_text())
    args = list(args)
    model = args[args.index("--model") + 1] if "--model" in args[:-1] else conf["head"]["model"]
    section = SEPARATOR_SECTIONS[_split_model_name(model)[0]]
    if section not in conf:
        raise ValueError(f"{conf_path} has no {section!r} section, which model {model!r} needs for its separator.")
    masknet = conf.pop(section)
    for other in SEPARATOR_SECTIONS.values():
        conf.pop(other, None)
    conf["masknet"] = masknet
    parser = prepare_parser_from_dict(conf, argparse.ArgumentParser(prog="asteroid-deepmask train"))
    conf, _ = parse_args_as_dict(parser, return_plain_args=True, args=args)
    conf.pop("main_args", None)
    return conf


def model_from_conf(conf: dict) -> torch.nn.Module:
    """Build the model of a recipe configuration (sections ``head``, ``masknet``, ``filterbank``, ``data``)."""
    head = conf["head"]
    name = head["model"]
    separator, head_kind = _split_model_name(name)
    kwargs = {key: head[key] for key in HEAD_KEYS[head_kind] if key in head}
    masker_class = MODEL_ALIASES[name].masker_class
    unknown = set(conf["masknet"]) - masker_class.trunk_arguments() - {"in_chan"}
    if unknown:
        raise ValueError(
            f"The masknet section has {sorted(unknown)}, which {masker_class.trunk_class.__name__} (the separator of "
            f"{name!r}) does not take: give it its own conf section {SEPARATOR_SECTIONS[separator]!r}."
        )
    return make_model(
        name,
        n_src=conf["data"]["n_src"],
        sample_rate=conf["data"]["sample_rate"],
        **kwargs,
        **conf["masknet"],
        **conf["filterbank"],
    )


class EpochLossSystem(System):
    """Asteroid's ``System``, also logging the epoch-mean training loss (``loss_epoch``).

    The paper halves the learning rate when the *training* loss stops improving; Asteroid logs
    only the per-step loss, too noisy to schedule on.
    """

    def __init__(self, *args, compile_training: bool = False, branch_loss=None, **kwargs):
        super().__init__(*args, **kwargs)
        # Dynamic grouping trains on the P branch estimates (branch_loss searches their grouping);
        # validation runs the model as at inference, grouped without references, under loss_func.
        self.branch_loss = branch_loss
        # torch.compile'd forward for the fixed-length training segments only: validation runs
        # whole utterances of every length, which would recompile again and again. A compiled
        # bound method, not a module, so that the state dict keeps its keys.
        self.compiled_forward = torch.compile(self.model.forward) if compile_training else None

    def training_step(self, batch, batch_nb):
        inputs, targets = batch
        if self.branch_loss is not None:
            loss = self.branch_loss(self.model.forward_branches(inputs), targets)
        else:
            loss = self.loss_func((self.compiled_forward or self.model)(inputs), targets)
        self.log("loss", loss, on_step=True, on_epoch=True, prog_bar=True)
        return loss


def corpus_settings(conf: dict) -> dict:
    """The generator settings of the training corpus, from its splits' ``corpus.json``, when found."""
    settings = {}
    for key in ("train_dir", "valid_dir", "test_dir"):
        if not conf["data"].get(key):
            continue
        mix_json = Path(conf["data"][key]) / "mix.json"
        if not mix_json.is_file():
            continue
        first_wav = Path(json.loads(mix_json.read_text())[0][0])
        marker = first_wav.parent.parent / "corpus.json"
        if marker.is_file():
            settings[key] = json.loads(marker.read_text())["settings"]
    return settings


def _max_time(value):
    """Lightning's ``max_time`` from the conf: None, seconds, or "DD:HH:MM:SS"."""
    if value in (None, "", "None", 0):
        return None
    if isinstance(value, (int, float)):
        return timedelta(seconds=value)
    return str(value)


def check_cpu_precision(precision: str) -> None:
    """Refuse mixed precision on a CPU that cannot autocast the LSTMs.

    Lightning's bf16/16-mixed autocasts the LSTMs, which oneDNN refuses with an obscure error in the
    first step on CPUs without bf16/fp16 instructions; say so before training starts instead.
    """
    # Lightning's names and its short aliases (also the benchmark's).
    dtype = {"bf16-mixed": torch.bfloat16, "bf16": torch.bfloat16, "16-mixed": torch.float16, "16": torch.float16}.get(str(precision))
    if dtype is None:
        return
    lstm = torch.nn.LSTM(4, 4, bidirectional=True)
    try:
        with torch.autocast("cpu", dtype=dtype):
            output, _ = lstm(torch.zeros(3, 2, 4))
            output.sum().backward()
    except RuntimeError as error:
        first_line = str(error).splitlines()[0]
        raise ValueError(
            f"Precision {precision!r} on CPU: this CPU cannot run the LSTMs in {dtype} ({first_line}). "
            "Use precision 32-true on CPU; mixed precision is meant for GPUs (bf16-mixed on Ampere or newer)."
        ) from None


def resolve_precision(precision="auto", accelerator="auto") -> str:
    """Lightning's precision for the conf's ``training.precision``; ``"auto"`` picks one for this machine.

    ``"auto"``: ``bf16-mixed`` on a CUDA GPU with native bf16 (compute capability 8, Ampere, or
    newer) or, on CPU, where :func:`check_cpu_precision` finds that the LSTMs run in bf16;
    ``32-true`` otherwise (older GPUs, other accelerators). ``accelerator`` is the conf's
    (``auto``, ``gpu``/``cuda``, ``cpu``, ...): ``auto`` means the GPU when there is one, as
    Lightning chooses. Any other precision is returned unchanged.
    """
    if str(precision) != "auto":
        return precision
    accelerator = str(accelerator or "auto")
    if accelerator in ("auto", "gpu", "cuda") and torch.cuda.is_available():
        # Capability, not torch.cuda.is_bf16_supported(), which also says yes to emulated (slow) bf16.
        return "bf16-mixed" if torch.cuda.get_device_capability()[0] >= 8 else "32-true"
    if accelerator in ("auto", "cpu"):
        try:
            check_cpu_precision("bf16-mixed")
        except ValueError:
            return "32-true"
        return "bf16-mixed"
    return "32-true"


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
