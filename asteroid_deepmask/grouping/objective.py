r"""The cost of a labelling from second-order statistics, never from waveforms.

With zero-mean branches :math:`Y` (P x T) and targets :math:`S` (C x T), the error of group k
with 0/1 indicator :math:`a_k` is

.. math::  \|s_k - Y^\top a_k\|^2 = \|s_k\|^2 - 2 a_k^\top R_{:,k} + a_k^\top G a_k,
   \qquad G = Y Y^\top,\ R = Y S^\top,

so every labelling's negative SNR (Asteroid's ``pairwise_neg_snr``) follows from G (P x P), R (P x C)
and the target energies (:func:`snr_objective`). Reference-free grouping
(:mod:`~asteroid_deepmask.grouping.blind`) scores labellings with the same quadratic form.
"""
from typing import Callable, NamedTuple, Optional

import torch
import torch.nn.functional as F

EPS = 1e-8  # Asteroid's PairwiseNegSDR.EPS


class GramStats(NamedTuple):
    """Second-order statistics of zero-mean branches Y ``(B, P, T)`` and targets S ``(B, C, T)``."""

    gram: torch.Tensor  # Y Y^T (B, P, P)
    cross: torch.Tensor  # Y S^T (B, P, C)
    energy: torch.Tensor  # ||s_k||^2 (B, C)


def gram_statistics(
    branch_estimates: torch.Tensor, targets: torch.Tensor, dtype: torch.dtype = torch.float64
) -> GramStats:
    """:class:`GramStats` of ``(B, P, T)`` branches and ``(B, C, T)`` targets, zero-meaned as Asteroid's SNR does.

    ``dtype`` float64 by default: ``err = ||s||^2 - 2 a^T R + a^T G a`` cancels at high SNR.
    """
    y = branch_estimates.detach().to(dtype)
    s = targets.detach().to(dtype)
    y = y - y.mean(-1, keepdim=True)
    s = s - s.mean(-1, keepdim=True)
    return GramStats(y @ y.transpose(1, 2), y @ s.transpose(1, 2), (s * s).sum(-1))


def onehot(labels: torch.Tensor, n_src: int, dtype: torch.dtype) -> torch.Tensor:
    """Labels (n, P) or (B, n, P) -> indicators (1 or B, P, n, C), P first so that M @ A is one matmul."""
    if labels.ndim == 2:
        labels = labels[None]
    return F.one_hot(labels, n_src).to(dtype).permute(0, 2, 1, 3)


def quadratic(mat: torch.Tensor, ind: torch.Tensor, lin: torch.Tensor) -> torch.Tensor:
    """``a_k^T M a_k + a_k^T lin_k`` for every labelling and group: (B, n, C)."""
    batch, n_out = mat.shape[:2]
    _, _, n, n_src = ind.shape
    flat = ind.reshape(ind.shape[0], n_out, n * n_src)
    ma = (mat @ flat[0] if ind.shape[0] == 1 else torch.bmm(mat, flat)).reshape(batch, n_out, n, n_src)
    ma = ma + lin[:, :, None, :]
    return (ma * ind).sum(1)


def _neg_snr(energy: torch.Tensor, quad: torch.Tensor) -> torch.Tensor:
    """Mean negative SNR over groups from ``quad = a^T G a - 2 a^T R``: (B, ..., C) -> (B, ...).

    Overwrites ``quad``: exact search's blocks are large, and in-place steps avoid a new buffer each.
    """
    energy = energy.reshape(energy.shape[0], *[1] * (quad.ndim - 2), energy.shape[1])
    snr = quad.add_(energy).clamp_min_(0).add_(EPS).reciprocal_().mul_(energy).add_(EPS).log10_()
    return snr.sum(-1).mul_(-10 / energy.shape[-1])


class Objective(NamedTuple):
    """Cost of a labelling, ``reduce`` of the per-group values ``a_k^T M a_k + a_k^T lin_k`` (M symmetric)."""

    mat: torch.Tensor  # (B, P, P)
    lin: torch.Tensor  # (B, P, C)
    n_src: int
    reduce: Callable[[torch.Tensor], torch.Tensor]  # (B, ..., C) -> (B, ...)
    affinity: Optional[torch.Tensor] = None  # (B, P, C): how well each output alone fits each group

    def __call__(self, labels: torch.Tensor) -> torch.Tensor:
        """Labels (n, P) shared by the batch, or (B, n, P) -> costs (B, n)."""
        return self.reduce(quadratic(self.mat, onehot(labels, self.n_src, self.mat.dtype), self.lin))


def snr_objective(stats: GramStats) -> Objective:
    gram, cross, energy = stats
    cosine = cross / (gram.diagonal(dim1=1, dim2=2)[..., None] * energy[:, None, :] + EPS).sqrt()
    return Objective(gram, -2 * cross, cross.shape[-1], lambda quad: _neg_snr(energy, quad), cosine)
