"""Searching the labelling of lowest cost: exhaustive in chunks, batched local search, or fixed.

All searches run without gradient on an :class:`~.objective.Objective`; callers recompute the
loss of the chosen grouping with autograd.
"""
import math
from typing import Optional, Tuple

import torch
import torch.nn.functional as F

from .labels import check_sizes, contiguous_labels, digits, relabelled_contiguous
from .objective import GramStats, Objective, onehot, quadratic, snr_objective

SEARCHES = ("auto", "exact", "local", "fixed")


def _exact(obj: Objective, equal_size: bool, chunk_size: int):
    mat, lin, n_src = obj.mat, obj.lin, obj.n_src
    batch, n_outputs = mat.shape[:2]
    device, dtype = mat.device, mat.dtype
    # Labellings are (low, high) digit pairs: the low outputs' values are computed once, and each
    # block of high labellings adds only the low-high coupling 2 a_low^T M_lh a_high, a matmul of
    # depth n_low, instead of a full P x P quadratic form per labelling: hence n_low about P/2.
    n_low = (n_outputs + 1) // 2
    while n_low > 1 and n_src**n_low > chunk_size:
        n_low -= 1
    n_high = n_outputs - n_low
    low = digits(torch.arange(n_src**n_low, device=device), n_src, n_low)  # (L, n_low)
    low_ind = onehot(low, n_src, dtype)  # (1, n_low, L, C)
    low_quad = quadratic(mat[:, :n_low, :n_low], low_ind, lin[:, :n_low])  # (B, L, C)
    low_count = low_ind[0].sum(0)  # (L, C)
    low_t = low_ind[0].permute(2, 1, 0).contiguous()  # (C, L, n_low)
    coupling = 2 * mat[:, :n_low, n_low:]  # (B, n_low, n_high)
    step = max(1, chunk_size // n_src**n_low)
    best = torch.full((batch,), math.inf, dtype=torch.float64, device=device)
    best_labels = torch.zeros(batch, n_outputs, dtype=torch.long, device=device)
    for start in range(0, n_src**n_high, step):
        high = digits(torch.arange(start, min(start + step, n_src**n_high), device=device), n_src, n_high)
        high_ind = onehot(high, n_src, dtype)  # (1, n_high, H, C)
        n_h = high.shape[0]
        high_quad = quadratic(mat[:, n_low:, n_low:], high_ind, lin[:, n_low:])  # (B, H, C)
        proj = (coupling @ high_ind[0].reshape(n_high, n_h * n_src)).reshape(batch, n_low, n_h, n_src)
        # One bmm over groups, (C, L, n_low) @ (C, n_low, B * H), viewed as (B, L, H, C) without a copy.
        proj = proj.permute(3, 1, 0, 2).reshape(n_src, n_low, batch * n_h)
        quad = torch.bmm(low_t, proj).reshape(n_src, low.shape[0], batch, n_h).permute(2, 1, 3, 0)
        quad.add_(low_quad[:, :, None]).add_(high_quad[:, None])
        counts = low_count[:, None] + high_ind[0].sum(0)[None]  # (L, H, C)
        valid = (counts == n_outputs // n_src).all(-1) if equal_size else (counts > 0).all(-1)
        cost = obj.reduce(quad).masked_fill_(~valid, math.inf).reshape(batch, -1)
        value, idx = cost.min(1)
        better = value < best
        best = torch.where(better, value.to(best.dtype), best)
        best_labels = torch.where(better[:, None], torch.cat([low[idx // n_h], high[idx % n_h]], 1), best_labels)
    return best, best_labels


def exact_search(
    stats: GramStats, n_src: int, equal_size: bool = True, chunk_size: int = 1 << 16
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Best labelling per example by exhaustive search: (loss ``(B,)``, labels ``(B, P)``).

    All C^P label vectors are scored in blocks of about ``chunk_size`` (memory
    O(B x chunk_size x C)), those with an empty group (or, with ``equal_size``, a group not of
    size P/C) masked out. Time grows with C^P: P=16 is 65,536 for C=2 and ~43M for C=3.
    """
    check_sizes(stats.gram.shape[1], n_src, equal_size)
    return _exact(snr_objective(stats), equal_size, chunk_size)


def _moves(n_outputs: int, n_src: int, equal_size: bool, device):
    """Neighbourhood of a labelling: swaps of two outputs, plus (unconstrained) moving one output to another group."""
    p, q = torch.triu_indices(n_outputs, n_outputs, 1, device=device)
    if equal_size:
        return p, q, torch.empty(0, dtype=torch.long, device=device), torch.empty(0, dtype=torch.long, device=device)
    pos = torch.arange(n_outputs, device=device).repeat_interleave(n_src - 1)
    shift = torch.arange(1, n_src, device=device).repeat(n_outputs)
    return p, q, pos, shift


def _greedy_labels(affinity: torch.Tensor, equal_size: bool) -> torch.Tensor:
    """Labels (B, P) by repeatedly taking the highest-affinity (output, group) pair still allowed."""
    batch, n_outputs, n_src = affinity.shape
    labels = torch.full((batch, n_outputs), -1, dtype=torch.long, device=affinity.device)
    counts = torch.zeros(batch, n_src, dtype=torch.long, device=affinity.device)
    cap = n_outputs // n_src if equal_size else n_outputs
    rows = torch.arange(batch, device=affinity.device)
    for step in range(n_outputs):
        allowed = (labels < 0)[:, :, None] & (counts < cap)[:, None, :]
        if not equal_size and step < n_src:  # first give every group one output
            allowed &= (counts == 0)[:, None, :]
        idx = affinity.masked_fill(~allowed, -math.inf).reshape(batch, -1).argmax(1)
        labels[rows, idx // n_src] = idx % n_src
        counts[rows, idx % n_src] += 1
    return labels


def _improves(value: torch.Tensor, current: torch.Tensor) -> torch.Tensor:
    # Relative margin: float noise must not make two equal labellings alternate forever.
    return value < current - 1e-9 * (1 + current.abs())


def _descend(obj: Objective, cur: torch.Tensor, cur_cost: torch.Tensor, equal_size: bool, max_iter: int):
    """Steepest descent over swaps and single-output moves, for labels (B, S, P) at once.

    A neighbour changes two groups' values, each by a few entries of M and of the fields
    U = M A (P x C), so no P x P quadratic form is evaluated per neighbour.
    """
    batch, n_starts, n_outputs = cur.shape
    n_src, mat, device = obj.n_src, obj.mat, cur.device
    if n_outputs < 2 or n_src < 2:
        return cur, cur_cost
    lin = obj.lin[:, None]  # (B, 1, P, C)
    diag = mat.diagonal(dim1=1, dim2=2)[:, None]  # (B, 1, P)
    sp, sq, pos, shift = _moves(n_outputs, n_src, equal_size, device)
    pair = 2 * mat[torch.arange(batch, device=device)[:, None], sp, sq][:, None]  # (B, 1, n_swap)
    first, second = torch.cat([sp, pos]), torch.cat([sq, pos])  # positions a neighbour relabels

    def at(x, labels):  # x (B, S, M, C) at labels (B, S, M)
        return x.gather(3, labels[..., None])[..., 0]

    for _ in range(max_iter):
        ind = F.one_hot(cur, n_src).to(mat.dtype)  # (B, S, P, C)
        field = torch.einsum("bpq,bsqc->bspc", mat, ind)
        quad = ((field + lin) * ind).sum(2)  # (B, S, C)
        add = 2 * field + diag[..., None] + lin  # change of group c if output p joins it
        leave = diag - at(2 * field + lin, cur)  # change of p's group if p leaves it
        lab_p, lab_q = cur[:, :, sp], cur[:, :, sq]
        target = (cur[:, :, pos] + shift) % n_src
        # swap p <-> q (groups a, b): a loses p and gains q, b the reverse, minus their coupling twice
        old = torch.cat([lab_p, cur[:, :, pos]], 2)  # the first relabelled output's group
        new = torch.cat([lab_q, target], 2)  # the group it joins
        d_old = torch.cat([leave[:, :, sp] + at(add[:, :, sq], lab_p) - pair, leave[:, :, pos]], 2)
        d_new = torch.cat([leave[:, :, sq] + at(add[:, :, sp], lab_q) - pair, at(add[:, :, pos], target)], 2)
        valid = torch.cat([lab_p != lab_q, ind.sum(2).gather(2, cur[:, :, pos]) > 1], 2)  # keep groups non-empty
        values = quad[:, :, None, :].repeat(1, 1, old.shape[2], 1)  # (B, S, M, C)
        values.scatter_add_(3, old[..., None], d_old[..., None]).scatter_add_(3, new[..., None], d_new[..., None])
        values = obj.reduce(values).to(torch.float64).masked_fill_(~valid, math.inf)
        value, arg = values.min(2)
        improve = _improves(value, cur_cost)
        if not improve.any():
            break
        # a swap writes p's label at q and q's at p; a move writes its target at p twice
        second_label = torch.cat([lab_p, target], 2)
        chosen = cur.scatter(2, second[arg][..., None], second_label.gather(2, arg[..., None]))
        chosen = chosen.scatter(2, first[arg][..., None], new.gather(2, arg[..., None]))
        cur = torch.where(improve[..., None], chosen, cur)
        cur_cost = torch.where(improve, value, cur_cost)
    return cur, cur_cost


def _block_step(obj: Objective, cur: torch.Tensor, subset: torch.Tensor, equal_size: bool):
    """Best relabelling of the outputs in ``subset`` (all C^k of them), the others fixed: labels (B, S, P), costs."""
    n_outputs = cur.shape[-1]
    n_src, mat, lin, dtype = obj.n_src, obj.mat, obj.lin, obj.mat.dtype
    rest = torch.ones(n_outputs, dtype=torch.bool, device=cur.device)
    rest[subset] = False
    rest = rest.nonzero()[:, 0]
    ind_rest = F.one_hot(cur[:, :, rest], n_src).to(dtype)  # (B, S, R, C)
    m_rest = mat[:, rest][:, :, rest]
    fixed = ((torch.einsum("bpq,bsqc->bspc", m_rest, ind_rest) + lin[:, None, rest]) * ind_rest).sum(2)  # (B, S, C)
    coupling = 2 * torch.einsum("bkq,bsqc->bskc", mat[:, subset][:, :, rest], ind_rest)  # (B, S, k, C)
    sub = digits(torch.arange(n_src ** subset.numel(), device=cur.device), n_src, subset.numel())  # (J, k)
    sub_ind = F.one_hot(sub, n_src).to(dtype)  # (J, k, C)
    own = quadratic(mat[:, subset][:, :, subset], sub_ind.permute(1, 0, 2)[None], lin[:, subset])  # (B, J, C)
    quad = torch.einsum("jkc,bskc->bsjc", sub_ind, coupling) + own[:, None] + fixed[:, :, None]
    counts = ind_rest.sum(2)[:, :, None] + sub_ind.sum(1)  # (B, S, J, C)
    valid = (counts == n_outputs // n_src).all(-1) if equal_size else (counts > 0).all(-1)
    value, arg = obj.reduce(quad).masked_fill_(~valid, math.inf).min(2)
    new = cur.clone()
    new[:, :, subset] = sub[arg]
    return new, value.to(torch.float64)


def _local(
    obj: Objective, equal_size: bool, n_restarts: int, max_iter: Optional[int], generator,
    block_size: int = 4096, patience: int = 3,
):
    batch, n_outputs = obj.mat.shape[:2]
    n_src, device = obj.n_src, obj.mat.device
    base = contiguous_labels(n_outputs, n_src, device)
    relabelled = relabelled_contiguous(n_outputs, n_src, device) if math.factorial(n_src) <= 24 else base[None]
    starts = [relabelled.expand(batch, -1, -1)]
    if obj.affinity is not None:
        starts.append(_greedy_labels(obj.affinity, equal_size)[:, None])
    if n_restarts:
        # Random permutations of the contiguous labelling: valid under both constraints.
        keys = torch.rand(batch, n_restarts, n_outputs, generator=generator).to(device)
        starts.append(base[keys.argsort(-1)])
    cur = torch.cat(starts, 1)  # (B, S, P)
    max_iter = max_iter if max_iter is not None else 4 * n_outputs
    cur, cur_cost = _descend(obj, cur, obj(cur).to(torch.float64), equal_size, max_iter)
    # Single moves and swaps stall where several outputs must change group together: relabel
    # random blocks of k outputs exhaustively (C^k <= block_size), then descend again.
    k = 2
    while n_src > 1 and k < n_outputs and n_src ** (k + 1) <= block_size:
        k += 1
    stall = 0
    while k < n_outputs and stall < patience:
        subset = torch.randperm(n_outputs, generator=generator)[:k].sort().values.to(device)
        new, value = _block_step(obj, cur, subset, equal_size)
        improve = _improves(value, cur_cost)
        if not improve.any():
            stall += 1
            continue
        stall = 0
        cur = torch.where(improve[..., None], new, cur)
        cur_cost = torch.where(improve, value, cur_cost)
        cur, cur_cost = _descend(obj, cur, cur_cost, equal_size, max_iter)
    best, arg = cur_cost.min(1)
    return best, cur[torch.arange(batch, device=device), arg]


def local_search(
    stats: GramStats, n_src: int, equal_size: bool = True, n_restarts: int = 4, max_iter: Optional[int] = None,
    generator: Optional[torch.Generator] = None, block_size: int = 4096, patience: int = 3,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Approximate best labelling per example: (loss ``(B,)``, labels ``(B, P)``).

    Batched over examples and starts: steepest descent over swaps of two outputs and (unless
    ``equal_size``) moves of one output to another non-emptied group; then, until ``patience``
    random blocks in a row improve nothing, the exhaustive relabelling of a random block of k
    outputs (C^k <= ``block_size``) followed by descent again. Starts: the C! relabellings of the
    contiguous grouping (so the result is never worse than the fixed grouping with PIT), each
    output's best-correlated source (greedy, within the size constraint), and ``n_restarts``
    random permutations of the contiguous grouping. ``max_iter`` caps each descent (default 4P).
    """
    check_sizes(stats.gram.shape[1], n_src, equal_size)
    return _local(snr_objective(stats), equal_size, n_restarts, max_iter, generator, block_size, patience)


def _fixed(obj: Objective):
    chunk = relabelled_contiguous(obj.mat.shape[1], obj.n_src, obj.mat.device)
    value, idx = obj(chunk).min(1)
    return value, chunk[idx]


def _resolve(search: str, n_outputs: int, n_src: int, equal_size: bool, exact_limit: int) -> str:
    if search not in SEARCHES:
        raise ValueError(f"search={search!r}: expected one of {SEARCHES}.")
    check_sizes(n_outputs, n_src, equal_size)
    if search == "auto":
        return "exact" if n_src**n_outputs <= exact_limit else "local"
    return search


def search_labels(obj: Objective, equal_size, search, exact_limit, chunk_size, n_restarts, generator=None):
    search = _resolve(search, obj.mat.shape[1], obj.n_src, equal_size, exact_limit)
    if search == "exact":
        return _exact(obj, equal_size, chunk_size)
    if search == "local":
        return _local(obj, equal_size, n_restarts, None, generator)
    return _fixed(obj)
