"""DynamicGroupingLoss: the loss over the best grouping (asteroid_deepmask.losses)."""
import itertools

import pytest
import torch
from asteroid.losses import PITLossWrapper, pairwise_neg_snr

from asteroid_deepmask.grouping import exact_search, gram_statistics, group_by_labels
from asteroid_deepmask.losses import DynamicGroupingLoss
from asteroid_deepmask.masknn import group_masks
from grouping_reference import per_example_loss


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("n_out,n_src", [(8, 2), (6, 3)])
def test_fixed_is_pit_and_dynamic_is_never_worse(n_out, n_src):
    branches = torch.randn(4, n_out, 1000)
    targets = torch.randn(4, n_src, 1000)
    pit = PITLossWrapper(pairwise_neg_snr, pit_from="pw_mtx")
    fixed_loss, fixed_labels = DynamicGroupingLoss(n_src, search="fixed")(branches, targets, return_labels=True)
    torch.testing.assert_close(fixed_loss, pit(group_masks(branches, n_src), targets), rtol=0, atol=1e-5)
    fixed = per_example_loss(group_by_labels(branches, fixed_labels, n_src), targets)
    for equal, search in itertools.product((True, False), ("exact", "local")):
        loss, labels = DynamicGroupingLoss(n_src, equal, search)(branches, targets, return_labels=True)
        chosen = per_example_loss(group_by_labels(branches, labels, n_src), targets)
        assert (chosen <= fixed + 1e-5).all(), (equal, search)
        torch.testing.assert_close(loss, chosen.mean())
        # the search's Gram-matrix optimum is the loss recomputed on the waveforms
        if search == "exact":
            best, _ = exact_search(gram_statistics(branches, targets), n_src, equal)
            torch.testing.assert_close(chosen.double(), best, rtol=1e-4, atol=1e-4)
    assert DynamicGroupingLoss(n_src, False, "exact")(branches, targets) < fixed_loss  # random data: strictly better


def test_gradients_flow():
    branches = torch.randn(2, 8, 800, requires_grad=True)
    targets = torch.randn(2, 2, 800)
    for search in ("exact", "local"):
        branches.grad = None
        loss, labels = DynamicGroupingLoss(2, equal_size=False, search=search)(branches, targets, return_labels=True)
        loss.backward()
        assert torch.isfinite(branches.grad).all() and branches.grad.abs().sum() > 0
        # The gradient is that of the chosen grouping's loss (the search itself has none).
        ref = branches.detach().clone().requires_grad_()
        per_example_loss(group_by_labels(ref, labels, 2), targets).mean().backward()
        torch.testing.assert_close(branches.grad, ref.grad)
        # Branches of one group get the same gradient: it flows through their sum.
        for b in range(2):
            for k in range(2):
                grads = branches.grad[b, labels[b] == k]
                torch.testing.assert_close(grads, grads[:1].expand_as(grads))
