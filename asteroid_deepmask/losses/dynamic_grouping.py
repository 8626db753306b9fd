"""Dynamic grouping as a training loss: the best grouping of P branch estimates into C sources."""
from typing import Tuple

import torch
from asteroid.losses import pairwise_neg_snr
from torch import nn

from ..grouping import gram_statistics, group_by_labels, snr_objective
from ..grouping.search import SEARCHES, search_labels


class DynamicGroupingLoss(nn.Module):
    r"""Negative SNR of the best grouping of P branch estimates into C labelled sources.

    Like ``PITLossWrapper(pairwise_neg_snr, pit_from="pw_mtx")`` on grouped estimates (mean over
    sources and batch), but the grouping itself is chosen per example: the labelling is searched
    without gradient on Gram matrices, then the loss of the chosen group sums is recomputed with
    autograd by Asteroid's ``pairwise_neg_snr``.

    Args:
        n_src (int): Number of sources C.
        equal_size (bool): Groups of exactly P/C outputs (like the paper's fixed grouping). Else
            any non-empty groups.
        search (str): ``"exact"`` (chunked exhaustive), ``"local"`` (:func:`local_search`),
            ``"auto"`` (exact if C^P <= ``exact_limit``, else local) or ``"fixed"`` (the paper's
            contiguous grouping with PIT, for comparison).
        exact_limit (int): Largest C^P (label vectors that exact search scores) searched exactly by ``"auto"``.
        chunk_size (int): Label vectors scored at once by exact search (bounds its memory).
        n_restarts (int): Random starts of local search, besides the C! relabelled contiguous ones.
        seed (int): Seed of local search's restarts, drawn from a private generator so that the
            global random stream (data, dropout) is left untouched.
    """

    def __init__(
        self, n_src: int, equal_size: bool = True, search: str = "auto", exact_limit: int = 1 << 17,
        chunk_size: int = 1 << 16, n_restarts: int = 4, seed: int = 0,
    ):
        super().__init__()
        if search not in SEARCHES:
            raise ValueError(f"search={search!r}: expected one of {SEARCHES}.")
        self.n_src, self.equal_size, self.search = n_src, equal_size, search
        self.exact_limit, self.chunk_size, self.n_restarts = exact_limit, chunk_size, n_restarts
        self.seed, self._calls = seed, 0

    def best_labels(self, branch_estimates: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Chosen labelling ``(B, P)`` of the branches, searched without gradient."""
        with torch.no_grad():
            obj = snr_objective(gram_statistics(branch_estimates, targets))
            generator = torch.Generator().manual_seed(self.seed + self._calls)
            self._calls += 1
            _, labels = search_labels(
                obj, self.equal_size, self.search, self.exact_limit, self.chunk_size, self.n_restarts, generator
            )
        return labels

    def best_grouping(self, branch_estimates: torch.Tensor, targets: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """The branches summed in the chosen grouping, ``(B, C, T)`` in the targets' order
        (differentiable), and its labels ``(B, P)``."""
        labels = self.best_labels(branch_estimates, targets)
        return group_by_labels(branch_estimates, labels, self.n_src), labels

    def forward(self, branch_estimates: torch.Tensor, targets: torch.Tensor, return_labels: bool = False):
        """Loss of ``(B, P, T)`` branch estimates against ``(B, C, T)`` targets; also the ``(B, P)`` labels if asked."""
        if targets.shape[1] != self.n_src or targets.shape[0] != branch_estimates.shape[0]:
            raise ValueError(
                f"Expected targets (batch, {self.n_src}, time) for branch estimates {tuple(branch_estimates.shape)}, "
                f"got {tuple(targets.shape)}."
            )
        grouped, labels = self.best_grouping(branch_estimates, targets)
        loss = pairwise_neg_snr(grouped, targets).diagonal(dim1=1, dim2=2).mean()
        return (loss, labels) if return_labels else loss
