"""Augmentation for mixtures made on the fly from single-speaker recordings.

A fixed corpus lets a separator memorise its speakers, rooms and channels; drawing new
variations of each source every epoch widens what it sees at no storage cost. Everything is
off by default, so that an ``augment:`` section with the defaults (or none) is the identity.

The configuration is flat (scalar keys only) so that Asteroid's argument parser can
override each key from the command line as ``--key value``.

Randomness comes only from the ``rng`` given to each call, so that a seeded generator
reproduces an example exactly. Only switches that are on draw, always in this order:

* :meth:`Augmenter.source`: speed factor; band limit: coin, then cutoff; tilt: coin, then slope.
* :meth:`Augmenter.room`: coin, then RT60, then the impulse response (:func:`synthetic_rir`).
* :meth:`Augmenter.mixture`: noise: coin, then SNR, colour and samples; then the gain.

A switch is on when its probability is above zero (the coin is drawn even at probability 1),
or, for speed and gain, when its range is not exactly the identity (1.0 and 0 dB).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np
import soxr
from scipy import fft as sfft
from scipy.signal import fftconvolve

TELEPHONE_LOW_HZ = 300.0  # telephone channels drop everything below this
NARROWBAND_HZ = 4000.0  # Nyquist of 8 kHz telephony: a band no wider than this is a phone call
TRANSITION = 0.05  # raised-cosine edges span +-5 % around each cutoff (steep, little ringing)
TILT_PIVOT_HZ = 1000.0  # the tilt's 0 dB point
TILT_FLOOR_HZ = 100.0  # below this the tilt's gain stops growing (no boosted rumble or DC)
FILTER_PAD_S = 0.1  # zero padding so that the FFT filters' ringing does not wrap around
MAX_PRE_DELAY_S = 0.01  # gap between the direct path and the reverberant tail
CLIP_PEAK = 0.9  # rescale target peak when a mixture would clip (as wsj0-mix)


def speed_perturb(wav: np.ndarray, factor: float, sample_rate: int) -> np.ndarray:
    """Play ``wav`` ``factor`` times faster (pitch and tempo together, like Kaldi's and ESPnet's
    speed perturbation): the length becomes ``len / factor`` and every frequency is multiplied
    by ``factor``. A factor of exactly 1 returns the input."""
    wav = np.asarray(wav, dtype=np.float32)
    if factor == 1.0:
        return wav
    return soxr.resample(wav, sample_rate * factor, sample_rate).astype(np.float32, copy=False)


def _lowpass_mask(freqs: np.ndarray, cutoff_hz: float) -> np.ndarray:
    """1 below the cutoff's transition, 0 above it, a raised cosine in between (-6 dB at the cutoff)."""
    lo, hi = cutoff_hz * (1 - TRANSITION), cutoff_hz * (1 + TRANSITION)
    x = np.clip((freqs - lo) / (hi - lo), 0.0, 1.0)
    return 0.5 * (1 + np.cos(np.pi * x))


def spectral_shape(
    wav: np.ndarray,
    sample_rate: int,
    cutoff_hz: Optional[float] = None,
    telephone: bool = False,
    tilt_db: float = 0.0,
) -> np.ndarray:
    """Zero-phase band limit and spectral tilt as one FFT-domain gain.

    Both are linear and zero-phase, so they commute and cost a single FFT pair together:
    a low-pass at ``cutoff_hz`` (none if None), a high-pass at 300 Hz if ``telephone``, and a
    gain of ``tilt_db`` dB per octave away from 1 kHz (flat below 100 Hz). The mask is exact
    (zero beyond each transition band), unlike a recursive filter's finite stop-band.
    """
    wav = np.asarray(wav, dtype=np.float32)
    n = len(wav)
    n_fft = sfft.next_fast_len(n + int(FILTER_PAD_S * sample_rate), real=True)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    gain = np.ones_like(freqs)
    if cutoff_hz is not None:
        gain *= _lowpass_mask(freqs, cutoff_hz)
    if telephone:
        gain *= 1.0 - _lowpass_mask(freqs, TELEPHONE_LOW_HZ)
    if tilt_db:
        octaves = np.log2(np.maximum(freqs, TILT_FLOOR_HZ) / TILT_PIVOT_HZ)
        gain *= 10 ** (tilt_db * octaves / 20)
    spectrum = sfft.rfft(wav, n_fft) * gain.astype(np.float32)
    return sfft.irfft(spectrum, n_fft)[:n].astype(np.float32, copy=False)


def synthetic_rir(rt60: float, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """A room impulse response: a unit direct path at t=0, a pre-delay uniform in [0, 10] ms,
    then Gaussian noise decaying by 60 dB in ``rt60`` seconds.

    The direct path at t=0 keeps the reverberant signal aligned with the dry one (so the dry
    source is a valid target); the tail carries as much energy as the direct path (0 dB
    direct-to-reverberant ratio, a talker near the room's critical distance). It ends at -60 dB.
    """
    pre_delay = int(rng.uniform(0.0, MAX_PRE_DELAY_S) * sample_rate)
    n_tail = max(1, int(rt60 * sample_rate))
    t = np.arange(n_tail) / sample_rate
    tail = rng.standard_normal(n_tail) * np.exp(-3 * math.log(10) * t / rt60)
    tail /= np.sqrt(np.sum(tail**2))
    rir = np.zeros(1 + pre_delay + n_tail, dtype=np.float32)
    rir[0] = 1.0
    rir[1 + pre_delay :] = tail
    return rir


def _noise(n: int, pink: bool, rng: np.random.Generator) -> np.ndarray:
    """White or pink (power 1/f, shaped in the FFT domain, no DC) Gaussian noise of length ``n``."""
    white = rng.standard_normal(n).astype(np.float32)
    if not pink:
        return white
    spectrum = sfft.rfft(white)
    f = np.arange(len(spectrum), dtype=np.float32)
    f[0] = np.inf
    return sfft.irfft(spectrum / np.sqrt(f), n).astype(np.float32, copy=False)


@dataclass(frozen=True)
class SourceDraw:
    """What :meth:`Augmenter.draw_source` drew for one source (None: not applied)."""

    speed: float = 1.0
    cutoff_hz: Optional[float] = None
    telephone: bool = False
    tilt_db: Optional[float] = None


class Augmenter:
    """Random per-source, per-room and per-mixture augmentation, configured by a flat dict.

    See the module docstring for the draw order and :attr:`KEYS` for the keys and defaults.
    """

    KEYS = {
        "speed_min": 1.0,
        "speed_max": 1.0,
        "band_limit_prob": 0.0,
        "band_limit_min_hz": 3400.0,
        "tilt_prob": 0.0,
        "tilt_max_db": 3.0,
        "reverb_prob": 0.0,
        "rt60_min": 0.1,
        "rt60_max": 0.4,
        "reverb_target": "dry",
        "noise_prob": 0.0,
        "noise_snr_min": 25.0,
        "noise_snr_max": 40.0,
        "gain_min_db": 0.0,
        "gain_max_db": 0.0,
    }
    REVERB_TARGETS = ("dry", "reverberant")

    def __init__(self, conf: dict | None = None, sample_rate: int = 8000):
        conf = dict(conf or {})
        unknown = sorted(set(conf) - set(self.KEYS))
        if unknown:
            raise ValueError(f"Unknown augment key(s) {unknown}; valid keys: {sorted(self.KEYS)}.")
        self.sample_rate = sample_rate
        self.conf = {**self.KEYS, **conf}
        for key, default in self.KEYS.items():
            if isinstance(default, float):
                try:
                    self.conf[key] = float(self.conf[key])
                except (TypeError, ValueError):
                    raise ValueError(f"augment {key} must be a number, got {self.conf[key]!r}.") from None
        self._validate()
        c = self.conf
        self.speed_on = not (c["speed_min"] == c["speed_max"] == 1.0)
        self.gain_on = not (c["gain_min_db"] == c["gain_max_db"] == 0.0)

    def _validate(self):
        c, nyquist = self.conf, self.sample_rate / 2

        def check(ok, key, expected):
            if not ok:
                raise ValueError(f"augment {key} must be {expected}, got {c[key]!r}.")

        check(c["speed_min"] > 0, "speed_min", "> 0")
        check(c["speed_max"] >= c["speed_min"], "speed_max", f">= speed_min ({c['speed_min']})")
        for key in ("band_limit_prob", "tilt_prob", "reverb_prob", "noise_prob"):
            check(0.0 <= c[key] <= 1.0, key, "a probability in [0, 1]")
        check(
            TELEPHONE_LOW_HZ < c["band_limit_min_hz"] < nyquist,
            "band_limit_min_hz",
            f"in ({TELEPHONE_LOW_HZ:g}, {nyquist:g}) Hz (above the telephone high-pass, below Nyquist)",
        )
        check(c["tilt_max_db"] >= 0, "tilt_max_db", ">= 0 dB per octave")
        check(c["rt60_min"] > 0, "rt60_min", "> 0 s")
        check(c["rt60_max"] >= c["rt60_min"], "rt60_max", f">= rt60_min ({c['rt60_min']})")
        check(c["reverb_target"] in self.REVERB_TARGETS, "reverb_target", f"one of {self.REVERB_TARGETS}")
        check(c["noise_snr_max"] >= c["noise_snr_min"], "noise_snr_max", f">= noise_snr_min ({c['noise_snr_min']})")
        check(c["gain_max_db"] >= c["gain_min_db"], "gain_max_db", f">= gain_min_db ({c['gain_min_db']})")

    @property
    def enabled(self) -> bool:
        """Whether any augmentation is on (the dataset can skip calling us otherwise)."""
        c = self.conf
        return self.speed_on or self.gain_on or any(
            c[k] > 0 for k in ("band_limit_prob", "tilt_prob", "reverb_prob", "noise_prob")
        )

    def draw_source(self, rng: np.random.Generator) -> SourceDraw:
        """Draw one source's speed, band limit and tilt (public so that callers can log them)."""
        c, nyquist = self.conf, self.sample_rate / 2
        speed = float(rng.uniform(c["speed_min"], c["speed_max"])) if self.speed_on else 1.0
        cutoff = None
        if c["band_limit_prob"] > 0 and rng.random() < c["band_limit_prob"]:
            low = math.log(c["band_limit_min_hz"])
            cutoff = float(math.exp(rng.uniform(low, math.log(nyquist))))
        tilt = None
        if c["tilt_prob"] > 0 and rng.random() < c["tilt_prob"]:
            tilt = float(rng.uniform(-c["tilt_max_db"], c["tilt_max_db"]))
        return SourceDraw(speed, cutoff, cutoff is not None and cutoff <= NARROWBAND_HZ, tilt)

    def source(self, wav: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Speed, then band limit, then tilt. These change what the speaker sounds like, so the
        result is the training target as well as the mixture's input. Speed changes the length
        (``len / factor``); a band limit at or below 4 kHz is a phone call and also drops < 300 Hz."""
        draw = self.draw_source(rng)
        out = speed_perturb(wav, draw.speed, self.sample_rate)
        if draw.cutoff_hz is not None or draw.tilt_db is not None:
            out = spectral_shape(out, self.sample_rate, draw.cutoff_hz, draw.telephone, draw.tilt_db or 0.0)
        return out

    def room(self, wav: np.ndarray, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
        """(what goes into the mixture, the training target), both as long as ``wav``.

        With reverb drawn: the reverberant source and, by ``reverb_target``, the dry source (the
        model learns to dereverberate) or the reverberant one (it only separates)."""
        wav = np.asarray(wav, dtype=np.float32)
        c = self.conf
        if not (c["reverb_prob"] > 0 and rng.random() < c["reverb_prob"]):
            return wav, wav
        rir = synthetic_rir(float(rng.uniform(c["rt60_min"], c["rt60_max"])), self.sample_rate, rng)
        wet = fftconvolve(wav, rir)[: len(wav)].astype(np.float32, copy=False)
        return wet, (wav if c["reverb_target"] == "dry" else wet)

    def mixture(
        self, mixture: np.ndarray, targets: np.ndarray, rng: np.random.Generator
    ) -> Tuple[np.ndarray, np.ndarray]:
        """Noise (into the mixture only: the targets stay clean), then one gain for mixture and
        targets together (the model should not depend on the input level), then a rescale of both
        to a 0.9 peak if the mixture would clip, so that written files and float training agree."""
        mixture = np.asarray(mixture, dtype=np.float32)
        targets = np.asarray(targets, dtype=np.float32)
        c = self.conf
        if c["noise_prob"] > 0 and rng.random() < c["noise_prob"]:
            snr_db = rng.uniform(c["noise_snr_min"], c["noise_snr_max"])
            noise = _noise(len(mixture), rng.random() < 0.5, rng)
            power = np.mean(mixture.astype(np.float64) ** 2) / 10 ** (snr_db / 10)
            mixture = mixture + noise * np.float32(np.sqrt(power / np.mean(noise.astype(np.float64) ** 2)))
        if self.gain_on:
            gain = np.float32(10 ** (rng.uniform(c["gain_min_db"], c["gain_max_db"]) / 20))
            mixture, targets = mixture * gain, targets * gain
        peak = np.abs(mixture).max(initial=0.0)
        if peak >= 1.0:
            scale = np.float32(CLIP_PEAK / peak)
            mixture, targets = mixture * scale, targets * scale
        return mixture, targets

    def describe(self) -> str:
        """One line for the training log of what is on."""
        c = self.conf
        parts = []
        if self.speed_on:
            parts.append(f"speed {c['speed_min']:g}-{c['speed_max']:g}")
        if c["band_limit_prob"] > 0:
            parts.append(f"band limit p={c['band_limit_prob']:g} ({c['band_limit_min_hz']:g} Hz-Nyquist)")
        if c["tilt_prob"] > 0:
            parts.append(f"tilt p={c['tilt_prob']:g} (+-{c['tilt_max_db']:g} dB/octave)")
        if c["reverb_prob"] > 0:
            parts.append(
                f"reverb p={c['reverb_prob']:g} (RT60 {c['rt60_min']:g}-{c['rt60_max']:g} s, "
                f"{c['reverb_target']} target)"
            )
        if c["noise_prob"] > 0:
            parts.append(f"noise p={c['noise_prob']:g} (SNR {c['noise_snr_min']:g}-{c['noise_snr_max']:g} dB)")
        if self.gain_on:
            parts.append(f"gain {c['gain_min_db']:g} to {c['gain_max_db']:g} dB")
        return "augment: " + (", ".join(parts) if parts else "off")
