"""Augmenter: each switch does what it says, the defaults are the identity, and seeds reproduce."""
import numpy as np
import pytest

from asteroid_deepmask.data.augment import Augmenter, spectral_shape, speed_perturb, synthetic_rir

ALL_ON = dict(
    speed_min=0.9,
    speed_max=1.1,
    band_limit_prob=1.0,
    tilt_prob=1.0,
    reverb_prob=1.0,
    reverb_target="dry",
    noise_prob=1.0,
    gain_min_db=-6.0,
    gain_max_db=6.0,
)


def noise(n, seed=0, scale=0.1):
    return (scale * np.random.default_rng(seed).standard_normal(n)).astype(np.float32)


def tone(freqs, sample_rate, seconds=1.0, amplitude=0.1):
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return sum(amplitude * np.sin(2 * np.pi * f * t) for f in freqs).astype(np.float32)


def band_energy(wav, sample_rate, lo, hi):
    """Energy in [lo, hi) Hz, Hann-windowed: a rectangular window's own leakage across a block's
    edges (about -35 dB) would hide how much the filter removes."""
    spectrum = np.abs(np.fft.rfft(wav.astype(np.float64) * np.hanning(len(wav)))) ** 2
    freqs = np.fft.rfftfreq(len(wav), 1 / sample_rate)
    return spectrum[(freqs >= lo) & (freqs < hi)].sum()


def db(ratio):
    return 10 * np.log10(ratio)


def test_defaults_are_the_identity_and_draw_nothing():
    aug = Augmenter()
    assert not aug.enabled and aug.describe() == "augment: off"
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    wav, mix, targets = noise(8000), noise(8000, 1), np.stack([noise(8000, 2), noise(8000, 3)])
    np.testing.assert_array_equal(aug.source(wav, rng), wav)
    wet, dry = aug.room(wav, rng)
    np.testing.assert_array_equal(wet, wav)
    np.testing.assert_array_equal(dry, wav)
    out_mix, out_targets = aug.mixture(mix, targets, rng)
    np.testing.assert_array_equal(out_mix, mix)
    np.testing.assert_array_equal(out_targets, targets)
    assert rng.bit_generator.state == state


def test_speed_one_is_exactly_the_identity():
    wav = noise(8000)
    aug = Augmenter(dict(speed_min=1.0, speed_max=1.0))
    np.testing.assert_array_equal(aug.source(wav, np.random.default_rng(0)), wav)
    assert speed_perturb(wav, 1.0, 8000) is wav


@pytest.mark.parametrize("factor", [0.9, 1.1])
def test_speed_changes_length_and_frequency(factor):
    sr, f0 = 8000, 500.0
    wav = tone([f0], sr, seconds=2.0)
    out = Augmenter(dict(speed_min=factor, speed_max=factor), sr).source(wav, np.random.default_rng(0))
    assert abs(len(out) - round(len(wav) / factor)) <= 1
    peak = np.fft.rfftfreq(len(out), 1 / sr)[np.argmax(np.abs(np.fft.rfft(out)))]
    assert abs(peak - f0 * factor) < 2.0  # 0.5 Hz bins


@pytest.mark.parametrize("seed", range(4))
def test_band_limit_removes_energy_above_cutoff(seed):
    sr = 16000
    aug = Augmenter(dict(band_limit_prob=1.0, band_limit_min_hz=5000.0), sr)
    draw = aug.draw_source(np.random.default_rng(seed))
    assert 5000 <= draw.cutoff_hz <= sr / 2 and not draw.telephone
    wav = noise(sr, seed)
    out = aug.source(wav, np.random.default_rng(seed))
    if draw.cutoff_hz * 1.1 < sr / 2:
        stop = (draw.cutoff_hz * 1.1, sr / 2 + 1)
        assert db(band_energy(out, sr, *stop) / band_energy(wav, sr, *stop)) < -40
    passband = (50.0, draw.cutoff_hz * 0.9)  # untouched, low frequencies included (not a phone call)
    assert abs(db(band_energy(out, sr, *passband) / band_energy(wav, sr, *passband))) < 0.2


def test_telephone_band_removes_energy_below_300_hz():
    sr = 8000  # with the default 3400 Hz minimum, every band-limited 8 kHz source is a phone call
    aug = Augmenter(dict(band_limit_prob=1.0), sr)
    assert aug.draw_source(np.random.default_rng(0)).telephone
    wav = noise(sr)
    out = aug.source(wav, np.random.default_rng(0))
    assert db(band_energy(out, sr, 0, 270) / band_energy(wav, sr, 0, 270)) < -40
    assert abs(db(band_energy(out, sr, 400, 3000) / band_energy(wav, sr, 400, 3000))) < 0.2
    # wider bands keep their low frequencies
    kept = spectral_shape(wav, sr, cutoff_hz=3800.0, telephone=False)
    assert abs(db(band_energy(kept, sr, 0, 270) / band_energy(wav, sr, 0, 270))) < 0.2


def tone_gains_db(out, wav, sr, freqs):
    spec_in, spec_out = np.abs(np.fft.rfft(wav)), np.abs(np.fft.rfft(out))
    bins = [int(round(f * len(wav) / sr)) for f in freqs]
    return np.array([20 * np.log10(spec_out[b] / spec_in[b]) for b in bins])


def test_positive_tilt_raises_high_frequencies_by_tilt_per_octave():
    sr, freqs = 16000, [250, 500, 1000, 2000, 4000]
    wav = tone(freqs, sr)
    gains = tone_gains_db(spectral_shape(wav, sr, tilt_db=3.0), wav, sr, freqs)
    np.testing.assert_allclose(gains, 3.0 * np.log2(np.array(freqs) / 1000), atol=0.1)
    assert gains[-1] - gains[0] == pytest.approx(12.0, abs=0.1)  # 4 octaves


@pytest.mark.parametrize("seed", range(3))
def test_augmenter_tilt_matches_its_draw(seed):
    sr, freqs = 16000, [250, 1000, 4000]
    aug = Augmenter(dict(tilt_prob=1.0, tilt_max_db=6.0), sr)
    tilt = aug.draw_source(np.random.default_rng(seed)).tilt_db
    assert abs(tilt) <= 6.0
    wav = tone(freqs, sr)
    gains = tone_gains_db(aug.source(wav, np.random.default_rng(seed)), wav, sr, freqs)
    np.testing.assert_allclose(gains, tilt * np.log2(np.array(freqs) / 1000), atol=0.1)


@pytest.mark.parametrize("target", ["dry", "reverberant"])
def test_reverb_target(target):
    wav = noise(8000)
    conf = dict(reverb_prob=1.0, rt60_min=0.3, rt60_max=0.3, reverb_target=target)
    wet, out_target = Augmenter(conf).room(wav, np.random.default_rng(0))
    assert len(wet) == len(out_target) == len(wav) and wet.dtype == np.float32
    assert db(np.sum((wet - wav) ** 2) / np.sum(wav**2)) > -10  # clearly reverberant
    np.testing.assert_array_equal(out_target, wav if target == "dry" else wet)
    # the target choice draws nothing: the same seed gives the same room either way
    other = dict(conf, reverb_target="reverberant" if target == "dry" else "dry")
    np.testing.assert_array_equal(Augmenter(other).room(wav, np.random.default_rng(0))[0], wet)


@pytest.mark.parametrize("rt60", [0.1, 0.3, 0.6])
@pytest.mark.parametrize("sr", [8000, 16000])
def test_synthetic_rir_decays_60_db_in_rt60(rt60, sr):
    rir = synthetic_rir(rt60, sr, np.random.default_rng(0)).astype(np.float64)
    assert rir[0] == 1.0
    edc = 10 * np.log10(np.cumsum(rir[::-1] ** 2)[::-1] / np.sum(rir**2))
    fit = (edc <= -5) & (edc >= -35)  # T30, as in ISO 3382
    slope = np.polyfit(np.flatnonzero(fit) / sr, edc[fit], 1)[0]
    assert -60 / slope == pytest.approx(rt60, rel=0.25)


@pytest.mark.parametrize("seed", range(4))
def test_noise_snr(seed):
    mix, targets = noise(16000, 1), np.stack([noise(16000, 2), noise(16000, 3)])
    out, out_targets = Augmenter(dict(noise_prob=1.0, noise_snr_min=20.0, noise_snr_max=20.0)).mixture(
        mix, targets, np.random.default_rng(seed)
    )
    assert db(np.sum(mix**2) / np.sum((out - mix) ** 2)) == pytest.approx(20.0, abs=0.5)
    np.testing.assert_array_equal(out_targets, targets)
    # drawn within the range
    out, _ = Augmenter(dict(noise_prob=1.0)).mixture(mix, targets, np.random.default_rng(seed))
    assert 25.0 - 0.5 <= db(np.sum(mix**2) / np.sum((out - mix) ** 2)) <= 40.0 + 0.5


@pytest.mark.parametrize("seed", range(4))
def test_gain_scales_mixture_and_targets_together(seed):
    targets = np.stack([noise(8000, 2, 0.01), noise(8000, 3, 0.01)])
    mix = targets.sum(0)
    out, out_targets = Augmenter(dict(gain_min_db=-6.0, gain_max_db=6.0)).mixture(
        mix, targets, np.random.default_rng(seed)
    )
    factor = out[0] / mix[0]
    assert 10 ** (-6 / 20) - 1e-6 <= factor <= 10 ** (6 / 20) + 1e-6
    np.testing.assert_allclose(out, mix * factor, rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(out_targets, targets * factor, rtol=1e-5, atol=1e-9)


def test_clipping_mixture_is_rescaled_to_0_9_peak():
    targets = np.stack([noise(8000, 2, 0.1), noise(8000, 3, 0.1)])
    mix = targets.sum(0)
    out, out_targets = Augmenter(dict(gain_min_db=20.0, gain_max_db=20.0)).mixture(
        mix, targets, np.random.default_rng(0)
    )
    assert np.abs(out).max() == pytest.approx(0.9, rel=1e-5)
    scale = np.abs(out).max() / np.abs(mix).max()
    np.testing.assert_allclose(out_targets, targets * scale, rtol=1e-4, atol=1e-7)


def run_all(aug, seed):
    rng = np.random.default_rng(seed)
    sources = [aug.source(noise(16000, s), rng) for s in (1, 2)]
    length = min(len(s) for s in sources)
    rooms = [aug.room(s[:length], rng) for s in sources]
    mix = np.sum([wet for wet, _ in rooms], axis=0)
    return aug.mixture(mix, np.stack([target for _, target in rooms]), rng)


def test_same_seed_same_output_different_seed_different():
    aug = Augmenter(ALL_ON)
    assert aug.enabled
    mix, targets = run_all(aug, 0)
    assert mix.dtype == targets.dtype == np.float32 and targets.shape == (2, len(mix))
    mix2, targets2 = run_all(aug, 0)
    np.testing.assert_array_equal(mix, mix2)
    np.testing.assert_array_equal(targets, targets2)
    mix3, _ = run_all(aug, 1)
    assert len(mix3) != len(mix) or not np.array_equal(mix3, mix)


def test_describe_names_what_is_on():
    line = Augmenter(ALL_ON).describe()
    for word in ("speed 0.9-1.1", "band limit", "tilt", "reverb", "dry target", "noise", "gain -6 to 6 dB"):
        assert word in line
    assert "\n" not in line


@pytest.mark.parametrize(
    "key, value",
    [
        ("speed_min", 0.0),
        ("speed_max", 0.8),  # below speed_min (1.0)
        ("band_limit_prob", 1.5),
        ("tilt_prob", -0.1),
        ("reverb_prob", 2.0),
        ("noise_prob", -1.0),
        ("band_limit_min_hz", 4000.0),  # Nyquist at 8 kHz
        ("rt60_min", 0.0),
        ("rt60_max", 0.05),  # below rt60_min (0.1)
        ("reverb_target", "wet"),
        ("noise_snr_max", 10.0),  # below noise_snr_min (25)
        ("gain_max_db", -1.0),  # below gain_min_db (0)
        ("tilt_max_db", "steep"),
    ],
)
def test_bad_values_name_their_key(key, value):
    with pytest.raises(ValueError, match=key):
        Augmenter({key: value}, sample_rate=8000)


def test_unknown_key_lists_valid_keys():
    with pytest.raises(ValueError, match="speed_min") as info:
        Augmenter({"speed": 1.1})
    assert "'speed'" in str(info.value)
