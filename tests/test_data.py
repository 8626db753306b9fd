import json

import numpy as np
import pytest
import soundfile as sf

from asteroid_deepmask.data import (
    active_level,
    draw_gains_db,
    generate_split,
    mix_sources,
    plan_split,
    speakers_by_split,
    write_wsj0mix_metadata,
)
from asteroid_deepmask.data import tts
from asteroid_deepmask.data.corpus import SPLITS
from asteroid_deepmask.data.mixing import ACTIVE_LEVEL_DB


def _speech_like(rng, seconds, f0):
    """A harmonic signal with pauses, so that active level and RMS differ."""
    t = np.arange(int(seconds * 8000)) / 8000
    wav = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6))
    gate = (np.sin(2 * np.pi * 0.7 * t) > -0.3).astype(float)
    return wav * gate * rng.uniform(0.05, 2.0)


def test_mixture_is_the_sum_of_min_length_sources_at_the_requested_levels():
    rng = np.random.default_rng(0)
    raw = [_speech_like(rng, 3.0, 120), _speech_like(rng, 2.2, 210), _speech_like(rng, 2.7, 300)]
    gains = [1.5, -2.0, 0.5]
    mixture, sources = mix_sources(raw, gains)
    assert len(mixture) == int(2.2 * 8000) and all(len(s) == len(mixture) for s in sources)
    np.testing.assert_array_equal(mixture, np.sum(sources, axis=0))
    levels = [20 * np.log10(active_level(s)) for s in sources]
    # The same scale factor applies to all sources, so the level differences are the gains'.
    np.testing.assert_allclose(np.diff(levels), np.diff(gains), atol=0.01)
    assert np.abs(mixture).max() < 1.0
    # Written as 16-bit PCM, the sources still sum exactly to the mixture.
    np.testing.assert_array_equal(np.round(mixture * 32768), np.sum([np.round(s * 32768) for s in sources], axis=0))


def test_loud_mixtures_are_rescaled_not_clipped():
    rng = np.random.default_rng(1)
    raw = [_speech_like(rng, 1.0, 100), _speech_like(rng, 1.0, 100)]  # in phase: adds up
    mixture, _ = mix_sources(raw, [30.0, 30.0])  # +30 dB over -25 dBFS would clip
    assert np.abs(mixture).max() == pytest.approx(0.9, abs=1e-4)
    quiet_mixture, quiet = mix_sources(raw, [0.0, 0.0])
    assert 20 * np.log10(active_level(quiet[0])) == pytest.approx(ACTIVE_LEVEL_DB, abs=0.01)


def test_a_peak_that_would_wrap_as_16_bit_pcm_is_rescaled_one_that_fits_is_kept(tmp_path):
    import soundfile as sf

    from asteroid_deepmask.data.mixing import rescale_if_clipping

    sources = np.array([[0.5, -0.2], [0.49999, 0.1]])
    mixture, scaled = rescale_if_clipping(sources.sum(0), sources)  # peak 0.99999: 32767.67 as PCM_16
    assert np.abs(mixture).max() == pytest.approx(0.9) and np.allclose(scaled.sum(0), mixture)
    sf.write(tmp_path / "m.wav", mixture, 8000, subtype="PCM_16")
    assert sf.read(tmp_path / "m.wav")[0][0] > 0  # written without wrapping to -1
    fits = np.array([[0.5, 0.0], [32767 / 32768 - 0.5, 0.0]])
    kept, _ = rescale_if_clipping(fits.sum(0), fits)
    assert kept[0] == 32767 / 32768  # the largest sample PCM_16 holds: not rescaled


def test_relative_levels_are_uniform_within_5_db():
    rng = np.random.default_rng(2)
    for n_src in (2, 3):
        relative = np.array([np.subtract(*draw_gains_db(rng, n_src)[1::-1]) for _ in range(4000)])
        assert relative.min() >= -5 and relative.max() <= 5
        counts, _ = np.histogram(relative, bins=5, range=(-5, 5))
        assert counts.min() > 0.8 * counts.mean()  # flat, not peaked


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


def test_metadata_of_a_missing_split_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="No mixtures"):
        write_wsj0mix_metadata(tmp_path / "nowhere", tmp_path / "json", 2)


def test_corpus_plan_does_not_depend_on_the_python_version():
    # The demo corpus, its published numbers and the study were made from this plan: a change of
    # the text source, the voices or the drawing shows here (and needs CORPUS_FORMAT bumped).
    from asteroid_deepmask.data.corpus import _fingerprint

    texts = tts.sentences()
    assert len(texts) == 289 and all(8 <= len(t.split()) <= 20 for t in texts)
    assert _fingerprint(plan_split("tt", 2, 200, seed=0)) == "eae295bca691af9e9f003d727b4e159d5f2993c84b13530b43babdbc5059a68c"
