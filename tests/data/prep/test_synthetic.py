import json

import numpy as np
import pytest
import soundfile as sf

from asteroid_deepmask.data.layout import SPLITS, write_wsj0mix_metadata
from asteroid_deepmask.data.prep import tts
from asteroid_deepmask.data.prep.synthetic import generate_split, plan_split, speakers_by_split


def test_splits_share_no_speaker_and_plans_are_seeded():
    speakers = speakers_by_split(seed=0)
    assert sum(len(v) for v in speakers.values()) == len({v.speaker for v in tts.voice_bank()})
    assert not set(speakers["tr"]) & set(speakers["tt"])
    assert not set(speakers["tr"]) & set(speakers["cv"]) and not set(speakers["cv"]) & set(speakers["tt"])
    for split in SPLITS:
        plan = plan_split(split, 3, 50, seed=0)
        assert {v.speaker for spec in plan for v in spec.voices} <= set(speakers[split])
        assert all(len({v.speaker for v in spec.voices}) == 3 for spec in plan)  # distinct talkers
    assert plan_split("tt", 2, 20, seed=0) == plan_split("tt", 2, 20, seed=0)
    assert plan_split("tt", 2, 20, seed=0) != plan_split("tt", 2, 20, seed=1)


def test_voice_bank_and_text_source():
    voices = tts.voice_bank()
    assert len({v.name for v in voices}) == len(voices) >= 60
    assert len(tts.sentences()) > 200


def test_missing_tts_tools_are_a_clear_error(monkeypatch):
    monkeypatch.setattr(tts.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="apt-get install -y espeak-ng flite"):
        tts.require_tts_tools()


@pytest.mark.parametrize("n_src", [2, 3])
def test_generated_split_is_wsj0mix_and_sums_to_the_mixtures(tmp_path, n_src):
    directory = generate_split(tmp_path, n_src, "tt", 6, seed=3, workers=2)
    assert directory == tmp_path / f"{n_src}speakers" / "wav8k" / "min" / "tt"
    names = sorted(p.name for p in (directory / "mix").iterdir())
    assert len(names) == 6
    for name in names:
        mixture, rate = sf.read(directory / "mix" / name, dtype="int16")
        assert rate == 8000 and mixture.ndim == 1
        sources = [sf.read(directory / f"s{k}" / name, dtype="int16")[0].astype(int) for k in range(1, n_src + 1)]
        np.testing.assert_array_equal(mixture, np.sum(sources, axis=0))
    from asteroid.data.wsj0_mix import Wsj0mixDataset

    write_wsj0mix_metadata(directory, tmp_path / "json", n_src)
    mixture, sources = Wsj0mixDataset(str(tmp_path / "json"), n_src=n_src, segment=None)[0]
    assert sources.shape == (n_src, mixture.shape[0])


def test_same_seed_gives_identical_files_and_complete_splits_are_kept(tmp_path):
    first = generate_split(tmp_path / "a", 2, "cv", 4, seed=5, workers=2)
    second = generate_split(tmp_path / "b", 2, "cv", 4, seed=5, workers=2)
    for path in sorted(first.rglob("*.wav")):
        assert path.read_bytes() == (second / path.relative_to(first)).read_bytes()
    stamps = {p: p.stat().st_mtime_ns for p in first.rglob("*.wav")}
    generate_split(tmp_path / "a", 2, "cv", 4, seed=5, workers=2)
    assert stamps == {p: p.stat().st_mtime_ns for p in first.rglob("*.wav")}
    with pytest.raises(FileExistsError, match="other settings"):
        generate_split(tmp_path / "a", 2, "cv", 5, seed=5, workers=2)


def test_half_written_split_is_detected_and_completed(tmp_path):
    directory = generate_split(tmp_path, 2, "tt", 4, seed=0, workers=2)
    reference = {p.relative_to(directory): p.read_bytes() for p in directory.rglob("*.wav")}
    # Simulate a run killed before it finished: no completion marker, one mixture missing,
    # and a partly written file.
    (directory / "corpus.json").unlink()
    victim = sorted((directory / "mix").iterdir())[0]
    victim.unlink()
    (directory / "s1" / (victim.name + ".part")).write_bytes(b"partial")
    kept = sorted((directory / "mix").iterdir())[1]
    before = kept.stat().st_mtime_ns
    generate_split(tmp_path, 2, "tt", 4, seed=0, workers=2)
    assert json.loads((directory / "corpus.json").read_text())["settings"]["n_mixtures"] == 4
    assert kept.stat().st_mtime_ns == before  # finished mixtures are not redone
    assert not list(directory.rglob("*.part"))
    assert {p.relative_to(directory): p.read_bytes() for p in directory.rglob("*.wav")} == reference


def test_corpus_plan_does_not_depend_on_the_python_version():
    # The demo corpus, its published numbers and the study were made from this plan: a change of
    # the text source, the voices or the drawing shows here (and needs CORPUS_FORMAT bumped).
    from asteroid_deepmask.data.prep.synthetic import _fingerprint

    texts = tts.sentences()
    assert len(texts) == 289 and all(8 <= len(t.split()) <= 20 for t in texts)
    assert _fingerprint(plan_split("tt", 2, 200, seed=0)) == "eae295bca691af9e9f003d727b4e159d5f2993c84b13530b43babdbc5059a68c"
