"""Does dynamic mixing keep up with training? Batches per second of the real-voices recipe's data
loader against training steps per second of its model, and the loader's memory over the pass.

(a) A ``DataLoader`` over :class:`~asteroid_deepmask.data.dynamic_mix.DynamicMixDataset` with the augment settings of
the voices recipe's conf (its ``augment`` section; rate, sources and seed from its ``data``
and ``training`` sections), drawn through :class:`~asteroid_deepmask.data.dynamic_mix.EpochSampler` as in training.
(b) Training steps (forward, PIT negative SNR, backward, gradient clip 5, Adam) of the demo-size
DeepMask DPRNN-TasNet on a batch of the same shape (the loader's first batch), in fp32 and, where
the CPU runs bf16 LSTMs, under bf16 autocast. A ratio above 1 means the loader is faster than
training. Resident memory (VmRSS) of this process and of the loader's workers is taken at the start
and end of the loader pass: flat when the speakers are memory-mapped. Prints nothing, asserts nothing.
"""
import copy
import time
from pathlib import Path
from typing import Dict, Optional, Sequence

import torch
import yaml
from torch.utils.data import DataLoader

from ...engine.conf import recipe_conf
from ...engine.precision import AUTOCAST_DTYPES, check_cpu_precision
from ...runtime import proc_status_kb
from .training import time_steps

DEMO_MODEL = dict(n_src=2, hid_size=64, bn_chan=64, chunk_size=50, hop_size=25, n_repeats=2)


def _pid_rss_kb(pid: int) -> Optional[int]:
    """VmRSS of process ``pid`` in kB (None where /proc does not say)."""
    try:
        return proc_status_kb("VmRSS", pid)
    except (OSError, RuntimeError):
        return None


def _worker_rss_kb(iterator) -> list:
    return [_pid_rss_kb(w.pid) for w in getattr(iterator, "_workers", [])]


def run_loader_benchmark(
    speakers_dir,
    batch_size: int = 8,
    segment: float = 2.0,
    num_workers: int = 1,
    n_batches: int = 50,
    model: Optional[torch.nn.Module] = None,
    train_steps: int = 10,
    precisions: Sequence[str] = ("32", "bf16"),
    device: str = "cpu",
    conf_path=None,
    cache_dir=None,
) -> Dict:
    """Loader batches/s over ``n_batches`` (the first, which starts the workers, timed apart as
    ``loader_startup_s``), training steps/s of ``model`` (default: the demo-size
    ``DeepMaskDPRNNTasNet(**DEMO_MODEL)``) per precision, their ratios, and RSS in kB.

    ``precisions``: "32" and/or "bf16"; bf16 is left out (``None``, with the reason) where this CPU
    cannot autocast the LSTMs. ``conf_path``: the recipe conf (default: the voices recipe's shipped one).
    """
    from ...data.augment import Augmenter
    from ...data.dynamic_mix import DynamicMixDataset, EpochSampler
    from ...data.speakers import SpeakerBank
    from ...models import DeepMaskDPRNNTasNet

    conf_path = Path(conf_path) if conf_path else recipe_conf("voices")
    if not conf_path.is_file():
        raise FileNotFoundError(f"No recipe configuration at {conf_path}: pass conf_path (a recipe's conf.yml).")
    conf = yaml.safe_load(conf_path.read_text())
    data = conf["data"]
    if n_batches < 1:
        raise ValueError(f"n_batches must be at least 1, got {n_batches}.")
    augment = Augmenter(conf.get("augment"), data["sample_rate"])
    bank = SpeakerBank(speakers_dir, data["sample_rate"], min_seconds=segment, min_speakers=data["n_src"],
                       cache_dir=cache_dir or data.get("cache_dir"))
    dataset = DynamicMixDataset(bank, data["n_src"], segment, batch_size * n_batches, seed=conf["training"]["seed"], augment=augment)
    loader = DataLoader(dataset, batch_size=batch_size, sampler=EpochSampler(len(dataset)), drop_last=True, num_workers=num_workers)

    rss_start = proc_status_kb("VmRSS")
    start = time.perf_counter()
    iterator = iter(loader)
    first = next(iterator)
    startup = time.perf_counter() - start
    workers_first = _worker_rss_kb(iterator)
    start = time.perf_counter()
    count = n_batches - 1
    for _ in range(count):
        next(iterator)
    elapsed = time.perf_counter() - start
    workers_last = _worker_rss_kb(iterator)  # the workers live until the iterator is exhausted
    rss_end = proc_status_kb("VmRSS")
    del iterator
    loader_rate = count / elapsed if count else 1.0 / startup

    device = torch.device(device)
    base = model if model is not None else DeepMaskDPRNNTasNet(**DEMO_MODEL)
    mixture, sources = first
    train, notes = {}, {}
    for precision in precisions:
        if precision not in AUTOCAST_DTYPES:
            raise ValueError(f"precision {precision!r}: expected one of {sorted(AUTOCAST_DTYPES)}.")
        if precision != "32" and device.type == "cpu":
            try:
                check_cpu_precision(precision)
            except ValueError as error:
                train[precision], notes[precision] = None, str(error)
                continue
        times, _, _ = time_steps(copy.deepcopy(base).to(device), mixture, sources, train_steps, 1, precision, device)
        train[precision] = train_steps / sum(times)
    result = {
        "speakers": len(bank),
        "speaker_minutes": round(bank.total_seconds / 60, 2),
        "batch_size": batch_size,
        "segment_s": segment,
        "num_workers": num_workers,
        "n_batches": n_batches,
        "augment": augment.describe(),
        "device": str(device),
        "torch_threads": torch.get_num_threads(),
        "loader_startup_s": startup,
        "loader_batches_per_s": loader_rate,
        "train_steps_per_s": train,
        "loader_to_train_ratio": {p: (loader_rate / r if r else None) for p, r in train.items()},
        "rss_start_kb": rss_start,
        "rss_end_kb": rss_end,
        "worker_rss_kb": {"first_batch": workers_first, "end": workers_last},
    }
    if notes:
        result["notes"] = notes
    return result


def format_loader_result(result: Dict) -> str:
    """A few lines for the terminal."""
    lines = [
        f"{result['speakers']} speakers ({result['speaker_minutes']:g} min), batch {result['batch_size']} x "
        f"{result['segment_s']:g} s, {result['num_workers']} worker(s), {result['augment']}",
        f"loader: {result['loader_batches_per_s']:.2f} batches/s over {result['n_batches']} batches "
        f"(first batch {result['loader_startup_s']:.2f} s)",
    ]
    for precision, rate in result["train_steps_per_s"].items():
        if rate is None:
            lines.append(f"training {precision}: skipped ({result['notes'][precision]})")
        else:
            lines.append(f"training {precision} on {result['device']}: {rate:.2f} steps/s; loader / training = "
                         f"{result['loader_to_train_ratio'][precision]:.2f}")
    workers = result["worker_rss_kb"]
    lines.append(f"RSS: main {result['rss_start_kb'] / 1024:.0f} -> {result['rss_end_kb'] / 1024:.0f} MiB"
                 + (f"; workers {[round(k / 1024) for k in workers['first_batch'] if k]} -> "
                    f"{[round(k / 1024) for k in workers['end'] if k]} MiB" if workers["first_batch"] else ""))
    return "\n".join(lines)
