"""The references the grouping searches and losses are tested against: every labelling enumerated,
and the best grouping found by a Python loop over waveforms."""
import itertools
from typing import Iterator

import torch
import torch.nn.functional as F
from asteroid.losses import pairwise_neg_snr

from asteroid_deepmask.grouping.labels import check_sizes


def _equal_size_labelings(n_outputs: int, n_src: int, device=None) -> torch.Tensor:
    size = n_outputs // n_src
    labels = torch.full((1, n_outputs), n_src - 1, dtype=torch.long, device=device)
    free = torch.arange(n_outputs, device=device)[None]  # (rows, free positions), same count per row
    for k in range(n_src - 1):
        # itertools: torch.combinations filters the full n^r product (minutes for C(16, 8)).
        combos = torch.tensor(list(itertools.combinations(range(free.shape[1]), size)), device=device)
        rows, m = labels.shape[0], combos.shape[0]
        chosen = free[:, None, :].expand(rows, m, -1).gather(2, combos[None].expand(rows, -1, -1))
        labels = labels[:, None, :].repeat(1, m, 1)
        labels.scatter_(2, chosen, k)
        labels = labels.reshape(rows * m, n_outputs)
        keep = torch.ones(rows, m, free.shape[1], dtype=torch.bool, device=device)
        keep.scatter_(2, combos[None].expand(rows, -1, -1), False)
        free = free[:, None, :].expand(rows, m, -1)[keep].reshape(rows * m, -1)
    return labels


def iter_labelings(
    n_outputs: int, n_src: int, equal_size: bool = True, chunk_size: int = 16384, device=None
) -> Iterator[torch.Tensor]:
    """All labellings in chunks of at most ``chunk_size`` rows ``(n, P)``, so that no more than one chunk is held."""
    check_sizes(n_outputs, n_src, equal_size)
    if equal_size:
        # Built whole: the multinomial is far below the C^P codes the unconstrained case walks through.
        yield from torch.split(_equal_size_labelings(n_outputs, n_src, device), chunk_size)
        return
    powers = n_src ** torch.arange(n_outputs, device=device)
    total = n_src**n_outputs
    for start in range(0, total, chunk_size):
        codes = torch.arange(start, min(start + chunk_size, total), device=device)
        labels = (codes[:, None] // powers) % n_src  # base-C digits
        used = F.one_hot(labels, n_src).amax(1).all(1)  # every source non-empty
        if used.any():
            yield labels[used]


def labelings(n_outputs: int, n_src: int, equal_size: bool = True, device=None) -> torch.Tensor:
    """All label vectors ``(n, P)`` in {0..C-1}^P with every source non-empty (``equal_size``: exactly P/C each)."""
    return torch.cat(list(iter_labelings(n_outputs, n_src, equal_size, chunk_size=1 << 20, device=device)))


def per_example_loss(grouped, targets):
    return pairwise_neg_snr(grouped, targets).diagonal(dim1=1, dim2=2).mean(-1)


def brute_force(branches, targets, equal_size):
    """Best (loss, labels) per example by a Python loop over every label vector, on the waveforms."""
    batch, n_out = branches.shape[:2]
    n_src = targets.shape[1]
    best = []
    for b in range(batch):
        results = []
        for lab in itertools.product(range(n_src), repeat=n_out):
            lab = torch.tensor(lab)
            sizes = torch.bincount(lab, minlength=n_src)
            if (sizes == 0).any() or (equal_size and (sizes != n_out // n_src).any()):
                continue
            sums = torch.stack([branches[b, lab == k].sum(0) for k in range(n_src)])
            results.append((per_example_loss(sums[None], targets[b : b + 1]).item(), lab))
        best.append(min(results, key=lambda r: r[0]))
    return torch.tensor([r[0] for r in best], dtype=torch.float64), torch.stack([r[1] for r in best])
