"""Time one training step (forward, PIT loss, backward, clip, Adam) of a model on random data.

Prints numbers, asserts nothing: what a recipe's epoch costs on this machine follows from it
(steps per epoch x seconds per step).
"""
import json
import statistics
import time
from typing import Dict, Optional

import torch
from asteroid.losses import PITLossWrapper, pairwise_neg_snr

from .models import make_model


def time_training_step(
    model_name: str, batch_size: int = 4, seconds: float = 4.0, steps: int = 10, warmup: int = 3, device: str = "cpu", **kwargs
) -> Dict[str, float]:
    """Median and spread of the wall time of ``steps`` training steps, after ``warmup`` untimed ones."""
    device = torch.device(device)
    model = make_model(model_name, **kwargs).to(device)
    loss_func = PITLossWrapper(pairwise_neg_snr, pit_from="pw_mtx")
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    n_src = model.masker.n_src
    samples = int(seconds * model.sample_rate)
    generator = torch.Generator().manual_seed(0)
    sources = torch.randn(batch_size, n_src, samples, generator=generator).to(device)
    mixture = sources.sum(1)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    times = []
    for step in range(warmup + steps):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss = loss_func(model(mixture), sources)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if step >= warmup:
            times.append(time.perf_counter() - start)
    result = {
        "model": model_name,
        "batch_size": batch_size,
        "seconds": seconds,
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch_threads": torch.get_num_threads(),
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
        "steps": steps,
    }
    if device.type == "cuda":
        result["peak_memory_gb"] = torch.cuda.max_memory_allocated(device) / 2**30
    return result


# ---------------------------------------------------------------------------------------------
# Inference: each case in a fresh process, so that its peak memory (max RSS) is its own.
# ---------------------------------------------------------------------------------------------
INFERENCE_MODELS = {
    # Asteroid's model at our separator size (its defaults have bn_chan 128); its head is gated.
    "asteroid DPRNNTasNet": ("DPRNNTasNet", {"bn_chan": 64, "mask_act": "relu"}),
    "baseline (P = C)": ("baseline", {}),
    "overseparation P = 16": ("overseparation", {"n_outputs": 16}),
    "deepmask MLP (L)": ("deepmask", {"mlp_hidden": 64}),
}


def inference_case(model_name: str, kwargs: dict, seconds: float, chunk_seconds: Optional[float], repeats: int) -> dict:
    """Median wall time of separating ``seconds`` of noise (one pass, or chunked) and the process's peak RSS."""
    import resource

    import numpy as np

    from .inference import separate_long

    torch.manual_seed(0)
    model = make_model(model_name, n_src=2, **kwargs).eval()
    audio = np.random.default_rng(0).standard_normal((1, int(seconds * model.sample_rate))).astype(np.float32)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        with torch.inference_mode():
            separate_long(model, audio, chunk_seconds=chunk_seconds)
        times.append(time.perf_counter() - start)
    return {
        "median_s": statistics.median(times),
        "rtf": statistics.median(times) / seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "threads": torch.get_num_threads(),
    }


def run_inference_benchmark(short: float = 4.0, long: float = 60.0, longest: float = 600.0, repeats: int = 3) -> list:
    """All cases, each in its own process: the four models one-pass on ``short`` and ``long``
    seconds, and MLP (L) through chunked ``separate`` on ``long`` and ``longest`` seconds."""
    import subprocess
    import sys

    cases = [(label, name, kwargs, s, None, repeats) for s in (short, long) for label, (name, kwargs) in INFERENCE_MODELS.items()]
    cases += [("deepmask MLP (L), chunked 8 s", "deepmask", {"mlp_hidden": 64}, s, 8.0, 1) for s in (long, longest)]
    rows = []
    for label, name, kwargs, seconds, chunk, reps in cases:
        code = (
            "import json, asteroid_deepmask.benchmark as b; "
            f"print(json.dumps(b.inference_case({name!r}, {kwargs!r}, {seconds!r}, {chunk!r}, {reps!r})))"
        )
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
        rows.append({"case": label, "seconds": seconds, "chunk_seconds": chunk, **json.loads(out.strip().splitlines()[-1])})
    return rows
