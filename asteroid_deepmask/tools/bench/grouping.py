"""Cost of one training step's loss for dynamic grouping vs Asteroid's MixIT, and the local search's gap.

A step is the loss's forward and backward on random branch outputs ``(B, P, T)`` with
``requires_grad`` (no model), so the numbers are the loss's own cost. Peak memory is the peak
resident set size (RSS) of the process above its RSS before the step: Linux ``VmHWM``, reset
through ``/proc/self/clear_refs``, in a separate call with glibc's mmap threshold at 128 KiB so that
freed tensors leave RSS instead of being reused unseen (that mode page-faults on every large
tensor, so it is not timed); the run leaves the process's glibc thresholds at their timing values
(mmap 32 MiB, trim 1 GiB). Prints nothing itself and asserts nothing.
"""
import ctypes
import itertools
import math
import statistics
import time
from typing import Callable, Dict, List, Optional, Sequence

import torch
from asteroid.losses import MixITLossWrapper, pairwise_neg_snr

from ...grouping import count_labelings, exact_search, gram_statistics, local_search
from ...losses import DynamicGroupingLoss
from ...runtime import M_MMAP_THRESHOLD, M_TRIM_THRESHOLD, mallopt, proc_status_kb


def _mixit_loss(est: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The loss DynamicGroupingLoss optimises, per example, as MixITLossWrapper wants it: (B,)."""
    return pairwise_neg_snr(est, targets).diagonal(dim1=1, dim2=2).mean(-1)


def _malloc_mode(measure_memory: bool) -> bool:
    """glibc allocation thresholds: for memory, tensors over 128 KiB are mapped and unmapped on free,
    so freed memory leaves RSS instead of being reused unseen; for time, they are kept in the heap
    (as glibc's dynamic threshold ends up doing), so no step pays page faults for fresh mappings.
    False where the C library is not glibc."""
    small = 128 * 1024
    applied = mallopt({M_MMAP_THRESHOLD: small if measure_memory else 32 * 2**20,
                       M_TRIM_THRESHOLD: small if measure_memory else 2**30})
    if applied and measure_memory:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    return applied


def _prepare_memory_probe() -> bool:
    """Whether peak RSS can be measured (Linux with glibc); leaves glibc in timing mode."""
    try:
        if not _malloc_mode(False):
            return False
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        proc_status_kb("VmHWM")
        return True
    except (OSError, RuntimeError):
        return False


def _peak_mib(step: Callable[[], torch.Tensor]) -> float:
    """Peak RSS above the RSS before one call of ``step``, in MiB."""
    _malloc_mode(True)
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current RSS
        before = proc_status_kb("VmRSS")
        step()
        return (proc_status_kb("VmHWM") - before) / 1024
    finally:
        _malloc_mode(False)


def _time_step(step, probe: bool, repeats: int, long_s: float = 5.0):
    """Median seconds of ``repeats`` calls after a first one (used alone when it took over ``long_s``),
    peak RSS increase (MiB) of one more call, loss, and the number of timed calls."""
    start = time.perf_counter()
    loss = float(step())
    times = [time.perf_counter() - start]
    if times[0] <= long_s:
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            loss = float(step())
            times.append(time.perf_counter() - start)
    return statistics.median(times), (_peak_mib(step) if probe else None), loss, len(times)


def _mixit_parts(n_out: int, n_src: int, generalized: bool) -> List[list]:
    """MixITLossWrapper's partitions, in its order (its generators are local functions)."""
    if generalized:
        return [[list(c), [x for x in range(n_out) if x not in c]]
                for k in range(n_out + 1) for c in itertools.combinations(range(n_out), k)]

    def parts(lst, k, n):
        if n == 0:
            yield []
            return
        for c in itertools.combinations(lst, k):
            rest = [x for x in lst if x not in c]
            for r in parts(rest, k, n - 1):
                yield [list(c), *r]

    return list(parts(list(range(n_out)), n_out // n_src, n_src))


def run_grouping_benchmark(
    n_outputs: Sequence[int] = (4, 8, 16), n_srcs: Sequence[int] = (2, 3), batch_size: int = 4,
    seconds: float = 4.0, sample_rate: int = 8000, repeats: int = 3, time_cap_s: float = 120.0,
    memory_cap_gb: Optional[float] = None, mixit_probe_parts: int = 32, gap_batches: int = 20,
    gap_c3_examples: int = 4, gap_data: Sequence[str] = ("random", "structured"), seed: int = 0,
    num_threads: Optional[int] = None,
    log: Optional[Callable[[str], None]] = None,
) -> List[Dict]:
    """Time and peak memory of one loss step per method, P and C; then local search's gap to exact.

    Methods: :class:`~asteroid_deepmask.losses.DynamicGroupingLoss` with ``search`` "fixed" (the
    paper's contiguous grouping with PIT), "exact" and "local", each with equal-size groups (where
    C divides P) and unconstrained non-empty groups; and Asteroid's ``MixITLossWrapper`` with the
    same per-example negative SNR, ``generalized=True`` (C = 2 only; all 2^P splits, empty groups
    included) and ``generalized=False`` (equal sizes). A case whose time (or memory), projected
    from timing ``mixit_probe_parts`` MixIT partitions or exact search at a smaller P, exceeds
    ``time_cap_s`` (or ``memory_cap_gb``, default half of the available memory) is skipped.

    The gap rows (``kind="gap"``) compare local with exact search (Gram-matrix loss, dB) per
    example: ``gap_batches`` batches at P=16, C=2 unconstrained, and up to ``gap_c3_examples``
    examples at P=16, C=3 unconstrained, as many as fit in ``time_cap_s``; on ``"random"`` data
    (Gaussian branches and targets) and on ``"structured"`` data (branches of a planted group
    sum to their target, plus leakage of every target and noise, about 6 dB SNR at the optimum),
    where local search's block steps matter.

    ``num_threads`` sets torch's intra-op threads for the run (restored after): on a machine shared
    with other work, 2 threads measured up to 25x slower than 1 on these small kernels.

    Returns:
        One dict per row: ``kind`` ("step" or "gap") and the fields :func:`format_grouping_table` shows.
    """
    previous_threads = torch.get_num_threads()
    if num_threads is not None:
        torch.set_num_threads(num_threads)
    try:
        return _run(n_outputs, n_srcs, batch_size, seconds, sample_rate, repeats, time_cap_s, memory_cap_gb,
                    mixit_probe_parts, gap_batches, gap_c3_examples, gap_data, seed, log or (lambda msg: None))
    finally:
        torch.set_num_threads(previous_threads)


def _run(n_outputs, n_srcs, batch_size, seconds, sample_rate, repeats, time_cap_s, memory_cap_gb,
         mixit_probe_parts, gap_batches, gap_c3_examples, gap_data, seed, log) -> List[Dict]:
    probe = _prepare_memory_probe()
    if memory_cap_gb is None:
        try:
            with open("/proc/meminfo") as f:
                avail = next(int(line.split()[1]) for line in f if line.startswith("MemAvailable"))
            memory_cap_gb = avail / 2**20 / 2
        except (OSError, StopIteration):
            memory_cap_gb = 8.0
    n_samples = int(seconds * sample_rate)
    rows: List[Dict] = []
    exact_rate: Dict[int, float] = {}  # label vectors per second, per C

    def row(method, n_out, n_src, groups, n_labelings, **fields):
        entry = dict(kind="step", method=method, P=n_out, C=n_src, groups=groups, labelings=n_labelings,
                     time_s=None, peak_mib=None, loss=None, runs=0, note="")
        entry.update(fields)
        rows.append(entry)
        log(f"{method} P={n_out} C={n_src} {groups}: {entry['time_s']} s {entry['note']}")

    for n_src in n_srcs:
        for n_out in n_outputs:
            if n_out < n_src:
                continue
            gen = torch.Generator().manual_seed(seed + 100 * n_src + n_out)
            branches = torch.randn(batch_size, n_out, n_samples, generator=gen).requires_grad_()
            targets = torch.randn(batch_size, n_src, n_samples, generator=gen)

            def step_of(loss_fn, branches=branches, targets=targets):
                def step():
                    branches.grad = None
                    loss = loss_fn(branches, targets)
                    loss.backward()
                    return loss.detach()
                return step

            for equal in (True, False):
                groups = "equal" if equal else "non-empty"
                if equal and n_out % n_src:
                    row("all (equal groups)", n_out, n_src, groups, None,
                        note=f"n/a: C={n_src} does not divide P={n_out}")
                    continue
                n_lab = count_labelings(n_out, n_src, equal)
                for search in ("fixed", "exact", "local"):
                    method = f"dynamic, {search}" if search != "fixed" else "fixed contiguous + PIT"
                    if search == "fixed" and not equal:
                        continue  # the same grouping as the equal-size row
                    if search == "exact" and n_src**n_out > 1 << 20:
                        if n_src not in exact_rate:
                            exact_rate[n_src] = _exact_rate(n_src, batch_size, n_samples)
                        projected = n_src**n_out / exact_rate[n_src]
                        if projected > time_cap_s:
                            row(method, n_out, n_src, groups, n_lab,
                                note=f"skipped, projected {projected:.0f} s ({n_src}^{n_out} label vectors)")
                            continue
                    loss_fn = DynamicGroupingLoss(n_src, equal_size=equal, search=search)
                    t, peak, loss, runs = _time_step(step_of(loss_fn), probe, repeats)
                    row(method, n_out, n_src, groups, n_lab if search != "fixed" else math.factorial(n_src),
                        time_s=t, peak_mib=peak, loss=loss, runs=runs)
                # MixIT: generalized for C = 2 (all splits, empty groups too), else equal-size parts.
                generalized = not equal
                method = f"MixITLossWrapper(generalized={generalized})"
                if generalized and n_src != 2:
                    row(method, n_out, n_src, groups, None, note="n/a: generalized MixIT takes 2 references only")
                    continue
                parts = _mixit_parts(n_out, n_src, generalized)
                k = min(len(parts), mixit_probe_parts)
                wrapper = MixITLossWrapper(_mixit_loss, generalized=generalized)
                if k < len(parts):
                    def probe_fn(est, tgt, sub=parts[:k]):
                        return MixITLossWrapper.loss_set_from_parts(_mixit_loss, est, tgt, sub).min(1).values.mean()
                    t_k, peak_k, _, _ = _time_step(step_of(probe_fn), probe, 1)
                    t_full = t_k * len(parts) / k
                    mem_full = (peak_k or 0) * len(parts) / k / 1024
                    if t_full > time_cap_s or mem_full > memory_cap_gb:
                        row(method, n_out, n_src, groups, len(parts),
                            note=f"skipped, projected {t_full:.0f} s, {mem_full:.1f} GiB (from {k} partitions)")
                        continue
                t, peak, loss, runs = _time_step(step_of(wrapper), probe, repeats)
                row(method, n_out, n_src, groups, len(parts), time_s=t, peak_mib=peak, loss=loss, runs=runs)
            del branches, targets

    for data in gap_data:
        rows += _gaps(data, batch_size, n_samples, gap_batches, gap_c3_examples, time_cap_s, seed, log)
    for r in rows:
        r.setdefault("memory", "peak RSS above pre-step RSS" if probe else "not measured")
        r.setdefault("threads", torch.get_num_threads())
    return rows


def _exact_rate(n_src: int, batch_size: int, n_samples: int) -> float:
    """Label vectors per second of exact search, timed at the largest P with C^P <= 2^20."""
    n_out = max(p for p in range(1, 21) if n_src**p <= 1 << 20)
    stats = gram_statistics(torch.randn(batch_size, n_out, 1000), torch.randn(batch_size, n_src, 1000))
    start = time.perf_counter()
    exact_search(stats, n_src, equal_size=False)
    return n_src**n_out / (time.perf_counter() - start)


def _gap_batch(data: str, batch: int, n_out: int, n_src: int, n_samples: int, gen: torch.Generator):
    """Branches (B, P, T) and targets (B, C, T) for the gap measurement."""
    targets = torch.randn(batch, n_src, n_samples, generator=gen)
    if data == "random":
        return torch.randn(batch, n_out, n_samples, generator=gen), targets
    if data != "structured":
        raise ValueError(f"gap data {data!r}: expected 'random' or 'structured'.")
    labels = torch.randint(0, n_src, (batch, n_out), generator=gen)
    onehot = torch.nn.functional.one_hot(labels, n_src).float()
    weights = torch.rand(batch, n_out, generator=gen) + 0.05
    weights = weights / (onehot * (onehot.transpose(1, 2) @ weights[..., None]).transpose(1, 2)).sum(-1)
    leak = 0.8 * torch.randn(batch, n_out, n_src, generator=gen) / n_out**0.5
    noise = 0.8 / n_out**0.5 * torch.randn(batch, n_out, n_samples, generator=gen)
    return (weights[..., None] * onehot + leak) @ targets + noise, targets


def _gaps(data, batch_size, n_samples, n_batches, c3_examples, time_cap_s, seed, log) -> List[Dict]:
    rows = []
    gen = torch.Generator().manual_seed(seed + 7)
    for n_src, calls, batch in ((2, n_batches, batch_size), (3, c3_examples, 1)):
        gaps, t_exact, t_local, last, start_all = [], 0.0, 0.0, 0.0, time.perf_counter()
        for _ in range(calls):
            if time.perf_counter() - start_all + last > time_cap_s:
                break
            stats = gram_statistics(*_gap_batch(data, batch, 16, n_src, n_samples, gen))
            start = time.perf_counter()
            exact, _ = exact_search(stats, n_src, equal_size=False)
            last = time.perf_counter() - start
            t_exact += last
            start = time.perf_counter()
            local, _ = local_search(stats, n_src, equal_size=False, generator=gen)
            t_local += time.perf_counter() - start
            gaps.append(local - exact)
        if gaps:
            gaps = torch.cat(gaps)
            gaps = gaps.masked_fill(gaps.abs() < 1e-9, 0.0)  # float noise, not a gap
            rows.append(dict(
                kind="gap", data=data, P=16, C=n_src, groups="non-empty", examples=gaps.numel(),
                mean_gap_db=float(gaps.mean()), max_gap_db=float(gaps.max()),
                optimal=float((gaps <= 1e-9).double().mean()), exact_s=t_exact / gaps.numel(),
                local_s=t_local / gaps.numel(), note="" if gaps.numel() == calls * batch else "stopped at the time cap",
            ))
            log(f"gap {data} P=16 C={n_src}: mean {gaps.mean():.4f} max {gaps.max():.4f} dB over {gaps.numel()}")
        elif calls:
            rows.append(dict(kind="gap", data=data, P=16, C=n_src, groups="non-empty", examples=0,
                             note=f"not measured: exact search over {time_cap_s} s"))
    return rows


def format_grouping_table(rows: List[Dict]) -> str:
    """Markdown tables of :func:`run_grouping_benchmark`'s rows: loss steps, then local search's gap."""
    def fmt(x, spec):
        return "" if x is None else format(x, spec)

    steps = [r for r in rows if r["kind"] == "step"]
    lines = [
        "| loss | P | C | groups | labellings | time/step (s) | peak RSS (MiB) | loss (dB) | note |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in steps:
        lines.append(
            f"| {r['method']} | {r['P']} | {r['C']} | {r['groups']} | {fmt(r['labelings'], ',')} | "
            f"{fmt(r['time_s'], '.3f')} | {fmt(r['peak_mib'], '.0f')} | {fmt(r['loss'], '.3f')} | {r['note']} |"
        )
    gaps = [r for r in rows if r["kind"] == "gap"]
    if gaps:
        lines += [
            "",
            "| local vs exact | data | examples | mean gap (dB) | max gap (dB) | optimal | exact (s/example) | "
            "local (s/example) | note |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in gaps:
            lines.append(
                f"| P={r['P']}, C={r['C']}, non-empty | {r['data']} | {r['examples']} | "
                f"{fmt(r.get('mean_gap_db'), '.4f')} | {fmt(r.get('max_gap_db'), '.4f')} | {fmt(r.get('optimal'), '.0%')} | "
                f"{fmt(r.get('exact_s'), '.3f')} | {fmt(r.get('local_s'), '.3f')} | {r['note']} |"
            )
    if rows:
        lines += ["", f"Peak memory: {rows[0]['memory']}; torch threads: {rows[0]['threads']}."]
    return "\n".join(lines)
