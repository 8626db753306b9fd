"""Fixed validation and test sets from a speaker folder (write_speaker_mixtures): reproducible,
summing exactly, with their mixtures.csv. Toy speakers as in tests/data/test_speakers.py."""
import csv
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from asteroid_deepmask.data.prep.speaker_mixtures import write_speaker_mixtures

RATE = 8000


@pytest.fixture
def root(speakers_root):
    return speakers_root


def _files(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_fixed_mixtures_are_reproducible_and_sum_exactly(root, tmp_path):
    kwargs = dict(n_src=2, n_mixtures=4, sample_rate=RATE, seconds=(0.5, 1.0))
    first = _files(write_speaker_mixtures(root, tmp_path / "a", seed=3, **kwargs))
    second = _files(write_speaker_mixtures(root, tmp_path / "b", seed=3, **kwargs))
    other = _files(write_speaker_mixtures(root, tmp_path / "c", seed=4, **kwargs))
    assert len([k for k in first if k.startswith("mix/")]) == 4
    assert first == second  # byte-identical wavs, mixtures.csv and corpus.json
    assert first["mixtures.csv"] != other["mixtures.csv"]
    assert {k: v for k, v in first.items() if k.startswith("mix/")} != {k: v for k, v in other.items() if k.startswith("mix/")}
    rows = list(csv.DictReader(open(tmp_path / "a" / "mixtures.csv")))
    assert len(rows) == 4
    for row in rows:
        assert row["s1_speaker"] != row["s2_speaker"]
        assert float(row["s1_gain_db"]) == pytest.approx(-float(row["s2_gain_db"]), abs=2e-4)
        mix, rate = sf.read(str(tmp_path / "a" / "mix" / row["name"]), dtype="int16")
        s1, _ = sf.read(str(tmp_path / "a" / "s1" / row["name"]), dtype="int16")
        s2, _ = sf.read(str(tmp_path / "a" / "s2" / row["name"]), dtype="int16")
        assert rate == RATE and 0.5 * RATE <= len(mix) <= RATE
        assert np.abs(mix).max() > 100
        np.testing.assert_array_equal(s1.astype(np.int32) + s2.astype(np.int32), mix.astype(np.int32))
