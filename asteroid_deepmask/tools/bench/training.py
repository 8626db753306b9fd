"""Time one training step (forward, PIT loss, backward, clip, Adam) of a model on random data.

Prints numbers, asserts nothing: what a recipe's epoch costs on this machine follows from it
(steps per epoch x seconds per step).
"""
import statistics
import time
from typing import Dict, List, Tuple

import torch
from asteroid.losses import PITLossWrapper, pairwise_neg_snr

from ...engine.precision import AUTOCAST_DTYPES
from ...models import make_model


def time_steps(
    model, mixture: torch.Tensor, sources: torch.Tensor, steps: int, warmup: int = 1, precision: str = "32",
    device="cpu", compile_model: bool = False,
) -> Tuple[List[float], List[float], torch.Tensor]:
    """Wall times of ``warmup`` then ``steps`` training steps (forward, PIT negative SNR, backward,
    gradient clip 5, Adam) of ``model`` on one batch: (timed, warm-up, last loss).

    ``precision`` "bf16" or "16" runs the forward pass and loss under ``torch.autocast``, as Lightning's
    bf16-mixed / 16-mixed do (fp16 with a gradient scaler); the weights stay float32.
    """
    if precision not in AUTOCAST_DTYPES:
        raise ValueError(f"precision {precision!r}: expected one of {sorted(AUTOCAST_DTYPES)}.")
    device = torch.device(device)
    forward = torch.compile(model.forward) if compile_model else model
    loss_func = PITLossWrapper(pairwise_neg_snr, pit_from="pw_mtx")
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    mixture, sources = mixture.to(device), sources.to(device)
    dtype = AUTOCAST_DTYPES[precision]
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    times, warmup_times = [], []
    for step in range(warmup + steps):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            loss = loss_func(forward(mixture), sources)
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        scaler.step(optimizer)
        scaler.update()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        (times if step >= warmup else warmup_times).append(time.perf_counter() - start)
    return times, warmup_times, loss


def time_training_step(
    model_name: str, batch_size: int = 4, seconds: float = 4.0, steps: int = 10, warmup: int = 3, device: str = "cpu",
    compile_model: bool = False, precision: str = "32", **kwargs
) -> Dict[str, float]:
    """Median and spread of the wall time of ``steps`` training steps of a model built by name on
    random data, after ``warmup`` untimed ones (whose total, compilation included with
    ``compile_model``, is ``warmup_s``); ``precision`` as in :func:`time_steps`."""
    device = torch.device(device)
    model = make_model(model_name, **kwargs).to(device)
    generator = torch.Generator().manual_seed(0)
    sources = torch.randn(batch_size, model.masker.n_src, int(seconds * model.sample_rate), generator=generator)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    times, warmup_times, loss = time_steps(model, sources.sum(1), sources, steps, warmup, precision, device, compile_model)
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
        "warmup_s": sum(warmup_times),
        "compiled": compile_model,
        "precision": precision,
        "loss": loss.item(),
    }
    if device.type == "cuda":
        result["peak_memory_gb"] = torch.cuda.max_memory_allocated(device) / 2**30
    return result
