"""Grouping P overseparated outputs into C sources: counts, searches, blind grouping (asteroid_deepmask.grouping)."""
import pytest
import torch
from asteroid.losses import PITLossWrapper, pairwise_neg_snr

from asteroid_deepmask.grouping import (
    count_labelings,
    exact_search,
    gram_statistics,
    group_by_labels,
    group_without_references,
    local_search,
    snr_objective,
)
from asteroid_deepmask.losses import DynamicGroupingLoss
from grouping_reference import brute_force, labelings


pytestmark = pytest.mark.usefixtures("one_thread")


def planted(n_src, labels, batch=3, time=2000, noise=1e-3):
    """Targets, and branches that are positive pieces of the target their label names, plus noise."""
    targets = torch.randn(batch, n_src, time, dtype=torch.float64)
    weights = torch.rand(batch, labels.shape[-1], dtype=torch.float64) + 0.2
    onehot = torch.nn.functional.one_hot(labels, n_src).to(torch.float64).expand(batch, -1, -1)
    weights = weights / (onehot * (onehot.transpose(1, 2) @ weights[..., None]).transpose(1, 2)).sum(-1)
    branches = weights[..., None] * (onehot @ targets)
    return branches + noise * torch.randn_like(branches), targets


def same_group(labels):
    return labels[..., :, None] == labels[..., None, :]


def test_labeling_counts():
    assert count_labelings(16, 2, True) == 12870 == labelings(16, 2, True).shape[0]
    assert count_labelings(16, 2, False) == 2**16 - 2 == labelings(16, 2, False).shape[0]
    assert count_labelings(6, 3, False) == 3**6 - 3 * 2**6 + 3
    for n_out, n_src, equal in [(6, 3, True), (6, 3, False), (5, 2, False)]:
        labs = labelings(n_out, n_src, equal)
        assert labs.shape == (count_labelings(n_out, n_src, equal), n_out)
        assert len({tuple(row) for row in labs.tolist()}) == labs.shape[0]
        sizes = torch.nn.functional.one_hot(labs, n_src).sum(1)
        assert (sizes > 0).all() and (not equal or (sizes == n_out // n_src).all())
    with pytest.raises(ValueError, match="multiple of n_src"):
        labelings(16, 3, True)
    with pytest.raises(ValueError, match="search"):
        DynamicGroupingLoss(2, search="greedy")


@pytest.mark.parametrize(
    "n_out,n_src,equal", [(4, 2, True), (6, 2, True), (6, 3, True), (4, 2, False), (5, 2, False), (5, 3, False)]
)
def test_exact_search_equals_brute_force(n_out, n_src, equal):
    branches = torch.randn(3, n_out, 400, dtype=torch.float64)
    targets = torch.randn(3, n_src, 400, dtype=torch.float64)
    ref_loss, ref_labels = brute_force(branches, targets, equal)
    stats = gram_statistics(branches, targets)
    for chunk_size in (5, 1 << 16):  # several blocks, one block
        loss, labels = exact_search(stats, n_src, equal, chunk_size=chunk_size)
        torch.testing.assert_close(loss, ref_loss, rtol=0, atol=1e-9)
        assert torch.equal(labels, ref_labels)
    # The Gram-matrix loss of every labelling agrees with the waveforms' too.
    every = labelings(n_out, n_src, equal)
    torch.testing.assert_close(snr_objective(stats)(every).min(1).values, ref_loss, rtol=0, atol=1e-9)


@pytest.mark.parametrize("n_out,n_src,equal", [(12, 3, False), (12, 2, True), (16, 2, False)])
def test_local_search_finds_planted_optimum(n_out, n_src, equal):
    gen = torch.Generator().manual_seed(1)
    labels = torch.arange(n_out) * n_src // n_out
    labels = labels[torch.randperm(n_out, generator=gen)]
    if not equal:
        labels[: n_out // 3] = 0  # unequal group sizes
    branches, targets = planted(n_src, labels)
    loss, found = local_search(gram_statistics(branches, targets), n_src, equal)
    assert torch.equal(found, labels.expand_as(found))
    assert (loss < -30).all()  # the planted grouping reaches the noise floor


@pytest.mark.parametrize("equal", [True, False])
def test_descent_step_takes_the_best_neighbour(equal):
    """One step of local search's descent, scored incrementally, is the best swap/move found by brute force."""
    from asteroid_deepmask.grouping.search import _descend

    n_out, n_src = 6, 3
    branches, targets = torch.randn(2, n_out, 300, dtype=torch.float64), torch.randn(2, n_src, 300, dtype=torch.float64)
    stats = gram_statistics(branches, targets)
    start = torch.tensor([[0, 0, 1, 1, 2, 2], [2, 1, 0, 2, 1, 0]])
    neighbours = []
    for lab in labelings(n_out, n_src, equal):
        diff = (lab != start).sum(-1)
        swap = (diff == 2) & (torch.sort(lab).values == torch.sort(start, dim=-1).values).all(-1)
        neighbours.append(((diff == 1) & (not equal)) | swap)
    every = labelings(n_out, n_src, equal)
    values = snr_objective(stats)(every).masked_fill(~torch.stack(neighbours, 1), float("inf"))
    cost = snr_objective(stats)(start[:, None])
    step, step_cost = _descend(snr_objective(stats), start[:, None], cost, equal, max_iter=1)
    best = values.min(1)
    improved = best.values < cost[:, 0]
    torch.testing.assert_close(step_cost[:, 0], torch.where(improved, best.values, cost[:, 0]))
    torch.testing.assert_close(snr_objective(stats)(step)[:, 0], step_cost[:, 0])


def structured(batch, n_out, n_src, time, leak, noise):
    """Branches of each planted group sum to their source, plus leakage of every source and noise."""
    targets = torch.randn(batch, n_src, time, dtype=torch.float64)
    labels = torch.randint(0, n_src, (batch, n_out))
    onehot = torch.nn.functional.one_hot(labels, n_src).to(torch.float64)
    weights = torch.rand(batch, n_out, dtype=torch.float64) + 0.05
    weights = weights / (onehot * (onehot.transpose(1, 2) @ weights[..., None]).transpose(1, 2)).sum(-1)
    mixing = weights[..., None] * onehot + leak * torch.randn(batch, n_out, n_src, dtype=torch.float64) / n_out**0.5
    return mixing @ targets + noise / n_out**0.5 * torch.randn(batch, n_out, time, dtype=torch.float64), targets


@pytest.mark.parametrize("n_out,n_src,data", [(10, 2, "random"), (13, 2, "structured"), (11, 3, "structured")])
def test_local_search_gap_to_exact_is_small(n_out, n_src, data):
    if data == "random":
        branches = torch.randn(8, n_out, 500, dtype=torch.float64)
        targets = torch.randn(8, n_src, 500, dtype=torch.float64)
    else:  # here single moves and swaps alone stall 0.1-0.4 dB above the optimum on average
        branches, targets = structured(8, n_out, n_src, 2000, leak=0.8, noise=0.8)
    stats = gram_statistics(branches, targets)
    exact, _ = exact_search(stats, n_src, equal_size=False)
    local, _ = local_search(stats, n_src, equal_size=False, generator=torch.Generator().manual_seed(0))
    gap = local - exact
    assert (gap >= -1e-9).all()
    assert gap.mean() < 0.05 and gap.max() < 0.3  # dB; a loose bound, measured gaps are 0 here


def test_group_without_references_recovers_planted_grouping():
    time = 8000
    # waveform similarity: branches are scaled copies of a source, with unequal groups. The sources
    # correlate (0.6), so that a grouping by uncentred similarity would collapse into one group.
    sources = 0.4**0.5 * torch.randn(2, 2, time) + 0.6**0.5 * torch.randn(2, 1, time)
    labels = torch.tensor([[0, 1, 1, 0, 1, 1, 1, 1], [1, 1, 0, 0, 0, 1, 0, 1]])
    scales = torch.rand(2, 8, 1) + 0.5
    branches = scales * sources.gather(1, labels[..., None].expand(-1, -1, time)) + 0.01 * torch.randn(2, 8, time)
    grouped, found = group_without_references(branches, 2, equal_size=False, similarity="waveform", return_labels=True)
    assert torch.equal(same_group(found), same_group(labels))
    torch.testing.assert_close(grouped, group_by_labels(branches, found, 2))
    # envelope similarity: branches are frequency bands of amplitude-modulated noise, equal groups
    gates = (torch.rand(2, 2, time // 400, 1) > 0.5).float().expand(-1, -1, -1, 400).reshape(2, 2, time)
    sources = torch.randn(2, 2, time) * (gates + 0.05)
    spec = torch.fft.rfft(sources)
    edges = torch.linspace(0, spec.shape[-1], 5).long()
    bands = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        mask = torch.zeros(spec.shape[-1])
        mask[lo:hi] = 1
        bands.append(torch.fft.irfft(spec * mask, n=time))
    bands = torch.stack(bands, 2).reshape(2, 8, time)  # branch 4k + j: band j of source k
    order = torch.stack([torch.randperm(8), torch.randperm(8)])
    branches = bands.gather(1, order[..., None].expand(-1, -1, time))
    found = group_without_references(branches, 2, return_labels=True)[1]  # envelope: the default
    assert torch.equal(same_group(found), same_group(order // 4))
    assert not torch.equal(same_group(group_without_references(branches, 2, similarity="waveform", return_labels=True)[1]),
                           same_group(order // 4))  # as waveforms, bands of one source do not correlate


@pytest.mark.parametrize("grouping", ["fixed", "dynamic"])
def test_oracle_grouping_of_a_model_is_the_brute_force_best_and_never_worse_than_its_own(small, grouping):
    from asteroid_deepmask.models import OverseparationDPRNNTasNet
    from asteroid_deepmask.engine.evaluate import _oracle_grouped

    model = OverseparationDPRNNTasNet(n_src=2, n_outputs=4, grouping=grouping, **small).eval()
    mixture, sources = torch.randn(3, 4000), torch.randn(3, 2, 4000)
    with torch.no_grad():
        own, oracle, branches = model(mixture), _oracle_grouped(model, mixture, sources), model.forward_branches(mixture)
    ref_loss, _ = brute_force(branches.double(), sources.double(), equal_size=True)
    pit = PITLossWrapper(pairwise_neg_snr, pit_from="pw_mtx")
    for b in range(3):
        oracle_loss = pit(oracle[b : b + 1], sources[b : b + 1])
        torch.testing.assert_close(oracle_loss.double(), ref_loss[b], rtol=1e-4, atol=1e-4)
        assert oracle_loss <= pit(own[b : b + 1], sources[b : b + 1]) + 1e-5
