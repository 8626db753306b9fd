"""Time one training step (forward, PIT loss, backward, clip, Adam) of a model on random data.

Prints numbers, asserts nothing: what a recipe's epoch costs on this machine follows from it
(steps per epoch x seconds per step).
"""
import statistics
import time
from typing import Dict

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
