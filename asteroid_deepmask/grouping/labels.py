"""Labellings of P outputs into C groups: the paper's contiguous one, sizes, and group sums."""
import itertools
import math

import torch
import torch.nn.functional as F


def check_sizes(n_outputs: int, n_src: int, equal_size: bool) -> None:
    if n_src < 1 or n_outputs < n_src:
        raise ValueError(f"Need n_outputs >= n_src >= 1, got n_outputs={n_outputs}, n_src={n_src}.")
    if equal_size and n_outputs % n_src:
        raise ValueError(
            f"equal_size=True needs n_outputs to be a multiple of n_src, got {n_outputs} outputs for "
            f"{n_src} sources; use equal_size=False for groups of any (non-zero) size."
        )


def count_labelings(n_outputs: int, n_src: int, equal_size: bool = True) -> int:
    """Number of labellings: the multinomial P! / ((P/C)!)^C if ``equal_size``, else the surjections onto C labels."""
    check_sizes(n_outputs, n_src, equal_size)
    if equal_size:
        return math.factorial(n_outputs) // math.factorial(n_outputs // n_src) ** n_src
    return sum((-1) ** j * math.comb(n_src, j) * (n_src - j) ** n_outputs for j in range(n_src + 1))


def contiguous_labels(n_outputs: int, n_src: int, device=None) -> torch.Tensor:
    """The paper's fixed grouping as labels ``(P,)``: output p belongs to source ``p * C // P``."""
    return torch.arange(n_outputs, device=device) * n_src // n_outputs


def relabelled_contiguous(n_outputs: int, n_src: int, device=None) -> torch.Tensor:
    """The contiguous grouping under each of the C! relabellings of its groups (what PIT chooses among): (C!, P)."""
    perms = torch.tensor(list(itertools.permutations(range(n_src))), device=device)
    return perms[:, contiguous_labels(n_outputs, n_src, device)]


def digits(codes: torch.Tensor, base: int, n_digits: int) -> torch.Tensor:
    return (codes[:, None] // base ** torch.arange(n_digits, device=codes.device)) % base


def group_by_labels(branch_estimates: torch.Tensor, labels: torch.Tensor, n_src: int) -> torch.Tensor:
    """Sum ``(B, P, ...)`` branches by labels ``(B, P)`` (or ``(P,)``) into ``(B, C, ...)``; differentiable."""
    batch, n_outputs = branch_estimates.shape[:2]
    ind = F.one_hot(labels.expand(batch, n_outputs), n_src).to(branch_estimates.dtype)  # (B, P, C)
    flat = branch_estimates.reshape(batch, n_outputs, -1)
    return (ind.transpose(1, 2) @ flat).reshape(batch, n_src, *branch_estimates.shape[2:])
