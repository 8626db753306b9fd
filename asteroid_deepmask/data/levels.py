"""Active speech level: the level of a signal while it is active, so that pauses do not lower it
and two talkers at the same level are equally loud while they speak.

One function, :func:`active_level`, names the measure it takes and always returns an amplitude
(an RMS, in the unit of the samples):

* ``method="frames"``: the RMS over the 20 ms frames within ``floor_db`` (40 dB) of the loudest
  frame. A simple stand-in for P.56, used by the synthetic corpus, the speaker mixtures and
  dynamic mixing.
* ``method="p56"``: the square root of :func:`p56_active_power`, ITU-T P.56 method B, as
  wsj0-mix normalises its sources.

About P.56: the reference (voicebox ``activlev`` in MATLAB) also band-passes the input to
0.2-5.5 kHz and subsamples the envelope; this implementation uses all samples and no filter, so
levels can differ from it by a fraction of a dB. Mixtures made with it are wsj0-mix *style*; point
the recipes at an existing wsj0-2mix copy (``--wsj0mix_dir``) to compare with published numbers.
"""
import numpy as np
from scipy.signal import lfilter

METHODS = ("frames", "p56")
TIME_CONSTANT_S = 0.03  # P.56 envelope smoothing
HANGOVER_S = 0.2  # P.56: a sample stays active this long after the envelope falls below a threshold
MARGIN_DB = 15.9  # P.56: the active level lies this far above the activity threshold


def active_level(wav: np.ndarray, sample_rate: int = 8000, *, method: str, floor_db: float = 40.0) -> float:
    """The active level of ``wav`` as an amplitude, measured by ``method`` (``"frames"`` or
    ``"p56"``, see the module docstring); ``floor_db`` is the frames method's."""
    if method == "frames":
        return _frames_level(wav, sample_rate, floor_db)
    if method == "p56":
        return float(np.sqrt(p56_active_power(wav, sample_rate)))
    raise ValueError(f"active_level: method must be one of {METHODS}, got {method!r}.")


def _frames_level(wav: np.ndarray, sample_rate: int, floor_db: float) -> float:
    """RMS over the active part of ``wav``: 20 ms frames within ``floor_db`` of the loudest frame.

    A simple stand-in for ITU-T P.56's active speech level, which wsj0-mix uses: pauses do not
    lower the level, so two talkers at the same level are equally loud while they speak.
    """
    frame = max(1, int(0.02 * sample_rate))
    n_frames = max(1, len(wav) // frame)
    energies = np.mean(wav[: n_frames * frame].reshape(n_frames, -1) ** 2, axis=1)
    if energies.max() <= 0:
        raise ValueError("Cannot level a silent signal.")
    active = energies >= energies.max() * 10 ** (-floor_db / 10)
    return float(np.sqrt(np.mean(energies[active])))


def p56_active_power(signal: np.ndarray, sample_rate: int) -> float:
    """Active speech level of ``signal`` after ITU-T P.56, method B, as a power (mean square over the active samples)."""
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"active_level expects a non-empty 1-D signal, got shape {x.shape}.")
    energy = float(np.sum(x**2))
    if energy == 0.0:
        raise ValueError("active_level: the signal is digital silence, it has no active level.")
    g = np.exp(-1.0 / (sample_rate * TIME_CONSTANT_S))
    envelope = lfilter([1 - g], [1, -g], lfilter([1 - g], [1, -g], np.abs(x)))
    hangover = int(np.ceil(HANGOVER_S * sample_rate))
    # Thresholds every 2x (6 dB) from far below the envelope's floor to its peak.
    peak = float(envelope.max())
    thresholds = peak * 2.0 ** -np.arange(0, 40)[::-1]
    index = np.arange(x.size)
    deltas, levels = [], []
    for threshold in thresholds:
        above = np.where(envelope >= threshold, index, -hangover - 1)
        active = np.count_nonzero(index - np.maximum.accumulate(above) <= hangover)
        level_db = 10 * np.log10(energy / max(active, 1))
        levels.append(level_db)
        deltas.append(level_db - 20 * np.log10(threshold))
    deltas, levels = np.array(deltas), np.array(levels)
    # delta falls as the threshold rises: find where it crosses the margin and interpolate.
    crossing = np.nonzero(deltas <= MARGIN_DB)[0]
    if crossing.size == 0 or crossing[0] == 0:
        level_db = levels[-1] if crossing.size == 0 else levels[0]
    else:
        j = crossing[0]
        frac = (deltas[j - 1] - MARGIN_DB) / (deltas[j - 1] - deltas[j])
        level_db = levels[j - 1] + frac * (levels[j] - levels[j - 1])
    return float(10 ** (level_db / 10))
