"""Active speech level after ITU-T P.56, method B, as wsj0-mix normalises its sources.

The reference (voicebox ``activlev`` in MATLAB) also band-passes the input to 0.2-5.5 kHz and
subsamples the envelope; this implementation uses all samples and no filter, so levels can
differ from it by a fraction of a dB. Mixtures made with it are wsj0-mix *style*; point the
recipes at an existing wsj0-2mix copy (``--wsj0mix_dir``) to compare with published numbers.
"""
import numpy as np
from scipy.signal import lfilter

TIME_CONSTANT_S = 0.03  # envelope smoothing
HANGOVER_S = 0.2  # a sample stays active this long after the envelope falls below a threshold
MARGIN_DB = 15.9  # the active level lies this far above the activity threshold


def active_level(signal: np.ndarray, sample_rate: int) -> float:
    """Active speech level of ``signal`` as a power (mean square over the active samples)."""
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
