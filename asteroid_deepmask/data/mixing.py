"""wsj0-mix style mixing: equal active level, random relative level, "min" mode, no clipping.

:func:`mix_sources` is the one mixer: the synthetic corpus and the speaker mixtures call it with
its defaults, wsj0-mix creation with MERL's settings (P.56 level of the whole utterance at 0 dB,
always rescaled to a 0.9 peak, not quantised). Dynamic mixing levels its own (augmented) sources
with :func:`~.levels.active_level`, :func:`draw_gains_db` and :func:`rescale_if_clipping`.
"""
from typing import List, Sequence, Tuple

import numpy as np

from .levels import active_level

ACTIVE_LEVEL_DB = -25.0  # dBFS of every source before its gain
PEAK_AFTER_RESCALE = 0.9  # as wsj0-mix's scripts
PCM16_FULL_SCALE = 32767 / 32768  # the largest 16-bit sample: a peak above it rounds to 32768 and wraps
RESCALE = ("if_clipping", "always")


def mix_sources(
    sources: Sequence[np.ndarray],
    gains_db: Sequence[float],
    sample_rate: int = 8000,
    *,
    method: str = "frames",
    level_db: float = ACTIVE_LEVEL_DB,
    measure_whole: bool = False,
    rescale: str = "if_clipping",
    quantise: bool = True,
) -> Tuple[np.ndarray, np.ndarray]:
    """Mix like wsj0-mix "min": cut to the shortest, bring each source to an active level of
    ``level_db`` (default ``ACTIVE_LEVEL_DB``) plus its gain, and rescale everything to a 0.9 peak
    if the mixture or a source would clip.

    Args:
        method: the active level's measure (:func:`~.levels.active_level`).
        measure_whole: measure each level on the whole source (as MERL's scripts), not on the part kept.
        rescale: ``"if_clipping"`` (to a 0.9 peak only if a signal would not fit in 16-bit PCM) or
            ``"always"`` (the loudest of mixture and sources always peaks at 0.9, as MERL's scripts).
        quantise: round the sources to 16 bits, the mixture being their sum.

    Returns the mixture and the scaled sources ``[C, T]``; quantised, the sources sum exactly
    to the mixture once written as PCM_16.
    """
    if len(sources) != len(gains_db):
        raise ValueError(f"{len(sources)} sources but {len(gains_db)} gains.")
    if rescale not in RESCALE:
        raise ValueError(f"rescale must be one of {RESCALE}, got {rescale!r}.")
    length = min(len(s) for s in sources)
    leveled = np.stack([
        s[:length] / active_level(s if measure_whole else s[:length], sample_rate, method=method) * 10 ** ((level_db + g) / 20)
        for s, g in zip(sources, gains_db)
    ])
    mixture = np.sum(leveled, axis=0)
    if rescale == "always":
        mixture, leveled = _to_peak(mixture, leveled, _peak(mixture, leveled))
    else:
        mixture, leveled = rescale_if_clipping(mixture, leveled)
    if not quantise:
        return mixture, leveled
    quantised = np.round(leveled * 32768) / 32768
    return np.sum(quantised, axis=0), quantised


def _peak(mixture: np.ndarray, sources: np.ndarray) -> float:
    return max(float(np.abs(mixture).max()), float(np.abs(sources).max()))


def _to_peak(mixture: np.ndarray, sources: np.ndarray, peak: float) -> Tuple[np.ndarray, np.ndarray]:
    scale = PEAK_AFTER_RESCALE / peak
    return mixture * scale, sources * scale


def rescale_if_clipping(mixture: np.ndarray, sources: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Scale mixture and sources together to a 0.9 peak if any of them would not fit in 16-bit PCM
    (as wsj0-mix, which rescales at full scale)."""
    peak = _peak(mixture, sources)
    if peak <= PCM16_FULL_SCALE:
        return mixture, sources
    return _to_peak(mixture, sources, peak)


def draw_gains_db(rng: np.random.Generator, n_src: int, max_relative_db: float = 5.0) -> List[float]:
    """Source gains: each source's level relative to the first is uniform in
    [-max_relative_db, max_relative_db] (for two sources, wsj0-2mix's +-snr/2 split)."""
    relative = [0.0] + list(rng.uniform(-max_relative_db, max_relative_db, size=n_src - 1))
    mean = float(np.mean(relative))
    return [r - mean for r in relative]
