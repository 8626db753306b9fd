import pytest
import torch

from fakes import write_fake_wsj0

# A small DPRNN so that the suite runs in seconds on two CPU cores; the paper-size models
# are exercised by the complexity tests.
SMALL = dict(n_filters=16, kernel_size=8, stride=4, bn_chan=8, hid_size=8, chunk_size=10, hop_size=5, n_repeats=2)
# The same for the other separators (their own argument names).
SMALL_CONVTASNET = dict(n_filters=16, kernel_size=8, stride=4, n_blocks=3, n_repeats=1, bn_chan=8, hid_chan=16, skip_chan=8)
SMALL_DPTNET = dict(n_filters=16, kernel_size=8, stride=4, n_heads=2, ff_hid=8, chunk_size=10, hop_size=5, n_repeats=1)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture
def small():
    return dict(SMALL)


@pytest.fixture(scope="module")
def fake_wsj0(tmp_path_factory):
    """A fake WSJ0 (real folder and file names, SPHERE files) and mixture lists: see fakes.write_fake_wsj0."""
    return write_fake_wsj0(tmp_path_factory.mktemp("wsj0"))
