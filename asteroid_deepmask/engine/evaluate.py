"""Evaluation: SI-SDR(i) and SDR(i) per utterance, means, and example wavs.

SDR is BSS Eval's (``fast_bss_eval``, which matches ``mir_eval`` at a fraction of the time);
SI-SDR is scale-invariant SDR on zero-mean signals (Le Roux et al. 2019). Estimates are matched
to references by the permutation that maximises SDR, and the same order is used for SI-SDR.
"""
import json
import logging
import multiprocessing
from pathlib import Path
from typing import Dict

import fast_bss_eval
import numpy as np
import pandas as pd
import soundfile as sf
import torch
import yaml
from tqdm import tqdm

from ..data.datasets import check_json_dir, make_dataset
from ..data.io import write_json_atomic
from ..losses import DynamicGroupingLoss
from ..models import DeepMaskBaseModel, OverseparationModel

log = logging.getLogger(__name__)

TEST_SET_FILE = "test_set.json"  # in each eval folder: which test set it holds
METRICS = ("si_sdr", "si_sdri", "sdr", "sdri", "input_si_sdr", "input_sdr")


def utterance_metrics(mixture: np.ndarray, sources: np.ndarray, estimates: np.ndarray) -> dict:
    """Mean-over-sources metrics of one utterance; ``sources`` and ``estimates`` are ``(n_src, time)``.

    Also returns ``perm``: ``estimates[perm]`` is in the references' order.
    """
    sdr, perm = fast_bss_eval.sdr(sources, estimates, return_perm=True)
    ordered = estimates[perm]
    si_sdr = fast_bss_eval.si_sdr(sources, ordered, zero_mean=True)
    stacked_mix = np.broadcast_to(mixture, sources.shape)
    input_sdr = fast_bss_eval.sdr(sources, stacked_mix)
    input_si_sdr = fast_bss_eval.si_sdr(sources, stacked_mix, zero_mean=True)
    return {
        "si_sdr": float(np.mean(si_sdr)),
        "si_sdri": float(np.mean(si_sdr - input_si_sdr)),
        "sdr": float(np.mean(sdr)),
        "sdri": float(np.mean(sdr - input_sdr)),
        "input_si_sdr": float(np.mean(input_si_sdr)),
        "input_sdr": float(np.mean(input_sdr)),
        "perm": [int(p) for p in perm],
    }


def evaluate(
    model_path,
    test_dir,
    out_dir,
    n_src: int,
    n_examples: int = 3,
    max_utterances: int = None,
    device: str = None,
    data_conf: dict = None,
    workers: int = 1,
    oracle_grouping: bool = False,
) -> dict:
    """Separate every test mixture, write ``all_metrics.csv``, ``final_metrics.json`` and
    ``examples/ex_*/{mixture,s1,...,s1_estimate,...}.wav``; returns the means.

    ``device`` defaults to the GPU when there is one; ``data_conf`` (a recipe's ``data`` section)
    names the dataset, wsj0-mix by default; ``workers`` > 1 evaluates utterances in that many
    processes of one thread each (on the CPU this beats one process with many threads).

    ``oracle_grouping`` (overseparation models) groups the P branch estimates of each mixture with
    the references' help, as :class:`~asteroid_deepmask.losses.DynamicGroupingLoss` does in
    training, instead of as the model does at inference: an upper bound that measures what the
    model's own grouping loses. A diagnostic, not a result a user can get.
    """
    out_dir = Path(out_dir)
    check_json_dir(test_dir, "test")
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    setup = (str(model_path), str(test_dir), device, {"n_src": n_src, **(data_conf or {})}, str(out_dir), n_examples,
             oracle_grouping)
    # Loaded here too with workers > 1: a bad model file or corpus fails at once, in this process,
    # with its own message, and the dataset's length is known before the pool starts.
    _load_worker(*setup)
    count = len(_WORKER["dataset"]) if max_utterances is None else min(max_utterances, len(_WORKER["dataset"]))
    chunks = [list(range(i, min(i + 8, count))) for i in range(0, count, 8)]
    progress = tqdm(total=count, desc="evaluate", unit="utt")
    rows = []
    if workers > 1:
        # spawn, not fork: a forked child of a process that ran torch's thread pool can hang.
        with multiprocessing.get_context("spawn").Pool(workers, initializer=_load_worker, initargs=(*setup, 1)) as pool:
            for chunk_rows in pool.imap(_evaluate_chunk, chunks):
                rows += chunk_rows
                progress.update(len(chunk_rows))
    else:
        for chunk in chunks:
            rows += _evaluate_chunk(chunk)
            progress.update(len(chunk))
    progress.close()
    table = pd.DataFrame(rows)
    out_dir.mkdir(parents=True, exist_ok=True)
    table.to_csv(out_dir / "all_metrics.csv", index=False)
    final = {metric: float(table[metric].mean()) for metric in METRICS}
    final["n_utterances"] = len(table)
    (out_dir / "final_metrics.json").write_text(json.dumps(final, indent=2))
    log.info("Means over %d utterances: %s", len(table), final)
    return final


def evaluate_experiment(exp_dir, test_dir=None, oracle_grouping: bool = False, name=None, **options) -> dict:
    """:func:`evaluate` of a trained experiment folder's ``best_model.pth`` on its configuration's
    test set into ``exp_dir/eval`` (``eval_oracle_grouping`` with ``oracle_grouping``), or on another
    test set ``test_dir`` named ``name`` (e.g. ``xt``) into ``exp_dir/eval_{name}``. The folder's
    ``test_set.json`` says which test set it holds.

    ``options``: ``n_examples``, ``max_utterances``, ``device``, ``workers``, as :func:`evaluate` takes them.
    """
    exp_dir = Path(exp_dir)
    conf = yaml.safe_load((exp_dir / "conf.yml").read_text())
    if name is not None and test_dir is None:
        raise ValueError(f"A named test set ({name!r}) needs its test_dir.")
    test_dir = test_dir or conf["data"]["test_dir"]
    out_dir = exp_dir / ("eval_oracle_grouping" if oracle_grouping else "eval" if name is None else f"eval_{name}")
    final = evaluate(
        exp_dir / "best_model.pth",
        test_dir,
        out_dir,
        n_src=conf["data"]["n_src"],
        data_conf=conf["data"],
        oracle_grouping=oracle_grouping,
        **options,
    )
    write_json_atomic(out_dir / TEST_SET_FILE, {"name": name, "test_dir": str(Path(test_dir).resolve())}, indent=1)
    return final


def extra_test_sets(exp_dir) -> Dict[str, Path]:
    """{name: its eval folder} of the named test sets an experiment was evaluated on (``eval_{name}``)."""
    found = {}
    for marker in sorted(Path(exp_dir).glob(f"eval_*/{TEST_SET_FILE}")):
        name = json.loads(marker.read_text()).get("name")
        if name and (marker.parent / "final_metrics.json").is_file():
            found[name] = marker.parent
    return found


_WORKER = {}  # the model and dataset of this process, loaded once


def _load_worker(model_path, test_dir, device, data_conf, out_dir, n_examples, oracle_grouping, threads=None) -> None:
    if threads:
        torch.set_num_threads(threads)
    model = DeepMaskBaseModel.from_pretrained(model_path).eval().to(device)
    if oracle_grouping and not isinstance(model, OverseparationModel):
        raise ValueError(
            f"Oracle grouping needs an overseparation model (P branches to group); {model_path} is a {type(model).__name__}."
        )
    data_conf = {**data_conf, "sample_rate": int(model.sample_rate)}
    _WORKER.update(model=model, device=device, out_dir=Path(out_dir), n_examples=n_examples, oracle_grouping=oracle_grouping)
    _WORKER["dataset"] = make_dataset(data_conf, test_dir, segment=None)


def _evaluate_chunk(indices) -> list:
    model, dataset, device = _WORKER["model"], _WORKER["dataset"], _WORKER["device"]
    rows = []
    for idx in indices:
        mixture, sources = dataset[idx]
        with torch.inference_mode():
            if _WORKER["oracle_grouping"]:
                estimates = _oracle_grouped(model, mixture[None].to(device), sources[None].to(device))[0].cpu()
            else:
                estimates = model(mixture[None].to(device))[0].cpu()
        metrics = utterance_metrics(mixture.numpy(), sources.numpy(), estimates.numpy())
        perm = metrics.pop("perm")
        rows.append({"utterance": Path(dataset.mix[idx][0]).name, **metrics})
        if idx < _WORKER["n_examples"]:
            example_dir = _WORKER["out_dir"] / "examples" / f"ex_{idx}"
            _write_example(example_dir, model.sample_rate, mixture, sources, estimates[perm])
    return rows


def _oracle_grouped(model: OverseparationModel, mixture: torch.Tensor, sources: torch.Tensor) -> torch.Tensor:
    """The model's branch estimates summed in the grouping (of the model's group sizes) that best fits the references."""
    search = DynamicGroupingLoss(model.masker.n_src, equal_size=model.equal_groups)
    return search.best_grouping(model.forward_branches(mixture), sources)[0]


def _write_example(directory: Path, sample_rate, mixture, sources, estimates) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    sf.write(directory / "mixture.wav", mixture.numpy(), int(sample_rate))
    for k, (source, estimate) in enumerate(zip(sources, estimates), start=1):
        sf.write(directory / f"s{k}.wav", source.numpy(), int(sample_rate))
        # Estimates are not normalised by the model: bring them to the mixture's peak for listening.
        peak = float(estimate.abs().max()) or 1.0
        sf.write(directory / f"s{k}_estimate.wav", (estimate * float(mixture.abs().max()) / peak).numpy(), int(sample_rate))
