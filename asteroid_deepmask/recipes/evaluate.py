"""Evaluation: SI-SDR(i) and SDR(i) per utterance, means, and example wavs.

SDR is BSS Eval's (``fast_bss_eval``, which matches ``mir_eval`` at a fraction of the time);
SI-SDR is scale-invariant SDR on zero-mean signals (Le Roux et al. 2019). Estimates are matched
to references by the permutation that maximises SDR, and the same order is used for SI-SDR.
"""
import json
import logging
from pathlib import Path

import fast_bss_eval
import numpy as np
import pandas as pd
import soundfile as sf
import torch
from tqdm import tqdm

from ..data.datasets import make_dataset
from ..models import DeepMaskBaseModel

log = logging.getLogger(__name__)

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
) -> dict:
    """Separate every test mixture, write ``all_metrics.csv``, ``final_metrics.json`` and
    ``examples/ex_*/{mixture,s1,...,s1_estimate,...}.wav``; returns the means.
    ``device`` defaults to the GPU when there is one; ``data_conf`` (a recipe's ``data`` section)
    names the dataset, wsj0-mix by default."""
    out_dir = Path(out_dir)
    if not list(Path(test_dir).glob("mix*.json")):
        raise FileNotFoundError(f"No test metadata at {test_dir}: expected mix.json (run the metadata stage).")
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    model = DeepMaskBaseModel.from_pretrained(str(model_path)).eval().to(device)
    data_conf = {"n_src": n_src, **(data_conf or {}), "sample_rate": int(model.sample_rate)}
    dataset = make_dataset(data_conf, test_dir, segment=None)
    count = len(dataset) if max_utterances is None else min(max_utterances, len(dataset))
    rows = []
    for idx in tqdm(range(count), desc="evaluate", unit="utt"):
        mixture, sources = dataset[idx]
        with torch.inference_mode():
            estimates = model(mixture[None].to(device))[0].cpu()
        metrics = utterance_metrics(mixture.numpy(), sources.numpy(), estimates.numpy())
        perm = metrics.pop("perm")
        rows.append({"utterance": Path(dataset.mix[idx][0]).name, **metrics})
        if idx < n_examples:
            _write_example(out_dir / "examples" / f"ex_{idx}", model.sample_rate, mixture, sources, estimates[perm])
    table = pd.DataFrame(rows)
    out_dir.mkdir(parents=True, exist_ok=True)
    table.to_csv(out_dir / "all_metrics.csv", index=False)
    final = {metric: float(table[metric].mean()) for metric in METRICS}
    final["n_utterances"] = len(table)
    (out_dir / "final_metrics.json").write_text(json.dumps(final, indent=2))
    log.info("Means over %d utterances: %s", len(table), final)
    return final


def _write_example(directory: Path, sample_rate, mixture, sources, estimates) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    sf.write(directory / "mixture.wav", mixture.numpy(), int(sample_rate))
    for k, (source, estimate) in enumerate(zip(sources, estimates), start=1):
        sf.write(directory / f"s{k}.wav", source.numpy(), int(sample_rate))
        # Estimates are not normalised by the model: bring them to the mixture's peak for listening.
        peak = float(estimate.abs().max()) or 1.0
        sf.write(directory / f"s{k}_estimate.wav", (estimate * float(mixture.abs().max()) / peak).numpy(), int(sample_rate))
