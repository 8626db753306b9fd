import numpy as np
import pytest

from asteroid_deepmask.data.levels import active_level
from asteroid_deepmask.data.mixing import ACTIVE_LEVEL_DB, draw_gains_db, mix_sources


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
    levels = [20 * np.log10(active_level(s, method="frames")) for s in sources]
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
    assert 20 * np.log10(active_level(quiet[0], method="frames")) == pytest.approx(ACTIVE_LEVEL_DB, abs=0.01)


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
