import subprocess
import sys
from pathlib import Path

import pytest
import torch

from fakes import (
    LIBRIMIX_CHECKOUT, TOY_TRAIN_ARGS, write_fake_librispeech, write_fake_wham_noise, write_fake_wsj0,
    write_speakers,
)  # fmt: skip

ROOT = Path(__file__).resolve().parents[1]

# A small DPRNN so that the suite runs in seconds on two CPU cores; the paper-size models
# are exercised by the complexity tests.
SMALL = dict(n_filters=16, kernel_size=8, stride=4, bn_chan=8, hid_size=8, chunk_size=10, hop_size=5, n_repeats=2)
# The same for the other separators (their own argument names).
SMALL_CONVTASNET = dict(n_filters=16, kernel_size=8, stride=4, n_blocks=3, n_repeats=1, bn_chan=8, hid_chan=16, skip_chan=8)
SMALL_DPTNET = dict(n_filters=16, kernel_size=8, stride=4, n_heads=2, ff_hid=8, chunk_size=10, hop_size=5, n_repeats=1)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(autouse=True)
def speaker_cache(tmp_path, monkeypatch):
    """Every test's default speaker cache is its own folder, never ~/.cache."""
    monkeypatch.setenv("ASTEROID_DEEPMASK_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="session")
def speakers_root(tmp_path_factory):
    """Toy speaker folders (fakes.write_speakers): every rate and format, an empty channel."""
    return write_speakers(tmp_path_factory.mktemp("speakers") / "voices")


@pytest.fixture(scope="session")
def librimix_trees(tmp_path_factory):
    """Fake LibriSpeech and WHAM! noise trees holding the files that the official metadata excerpts name,
    and that LibriMix checkout: (libri, noise, checkout)."""
    root = tmp_path_factory.mktemp("librimix")
    return write_fake_librispeech(root), write_fake_wham_noise(root), LIBRIMIX_CHECKOUT


@pytest.fixture
def one_thread():
    # The grouping searches run many small kernels: on a shared 2-core machine two threads wait on each other.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def small():
    return dict(SMALL)


@pytest.fixture(scope="module")
def fake_wsj0(tmp_path_factory):
    """A fake WSJ0 (real folder and file names, SPHERE files) and mixture lists: see fakes.write_fake_wsj0."""
    return write_fake_wsj0(tmp_path_factory.mktemp("wsj0"))


def _run_demo(tmp_path, *args):
    command = [
        "bash", str(ROOT / "egs" / "demo" / "run.sh"), "--python", sys.executable,
        "--corpus_dir", str(tmp_path / "corpus"), "--json_dir", str(tmp_path / "data"),
        "--exp_root", str(tmp_path / "exp"), "--n_train", "8", "--n_valid", "4", "--n_test", "3",
        "--max_epochs", "1", "--train_args", TOY_TRAIN_ARGS, *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """The toy demo recipe (egs/demo/run.sh), run once for the tests that read its outputs."""
    tmp_path = tmp_path_factory.mktemp("demo")
    result = _run_demo(tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return tmp_path


@pytest.fixture(scope="session")
def corpus_24(tmp_path_factory):
    """A toy corpus of 24 training mixtures: 12 steps per epoch in batches of 2."""
    tmp_path = tmp_path_factory.mktemp("corpus24")
    prepared = _run_demo(tmp_path, "--stop_stage", "2", "--n_train", "24")
    assert prepared.returncode == 0, prepared.stderr[-3000:]
    return tmp_path / "data" / "2speakers" / "wav8k" / "min"
