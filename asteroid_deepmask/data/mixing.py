"""wsj0-mix style mixing: equal active level, random relative level, "min" mode, no clipping."""
from typing import List, Sequence, Tuple

import numpy as np

ACTIVE_LEVEL_DB = -25.0  # dBFS of every source before its gain
PEAK_AFTER_RESCALE = 0.9  # as wsj0-mix's scripts
PCM16_FULL_SCALE = 32767 / 32768  # the largest 16-bit sample: a peak above it rounds to 32768 and wraps


def active_level(wav: np.ndarray, sample_rate: int = 8000, floor_db: float = 40.0) -> float:
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


def mix_sources(
    sources: Sequence[np.ndarray], gains_db: Sequence[float], sample_rate: int = 8000
) -> Tuple[np.ndarray, List[np.ndarray]]:
    """Mix like wsj0-mix "min": cut to the shortest, bring each source to an active level of
    ``ACTIVE_LEVEL_DB`` plus its gain, and rescale everything to a 0.9 peak if the mixture or a source would clip.

    Returns the mixture and the scaled sources, quantised to 16 bits so that the sources
    sum exactly to the mixture once written as PCM_16.
    """
    if len(sources) != len(gains_db):
        raise ValueError(f"{len(sources)} sources but {len(gains_db)} gains.")
    length = min(len(s) for s in sources)
    leveled = [
        s[:length] / active_level(s[:length], sample_rate) * 10 ** ((ACTIVE_LEVEL_DB + g) / 20)
        for s, g in zip(sources, gains_db)
    ]
    _, leveled = rescale_if_clipping(np.sum(leveled, axis=0), np.stack(leveled))
    quantised = [np.round(s * 32768) / 32768 for s in leveled]
    return np.sum(quantised, axis=0), quantised


def rescale_if_clipping(mixture: np.ndarray, sources: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Scale mixture and sources together to a 0.9 peak if any of them would not fit in 16-bit PCM
    (as wsj0-mix, which rescales at full scale)."""
    peak = max(float(np.abs(mixture).max()), float(np.abs(sources).max()))
    if peak <= PCM16_FULL_SCALE:
        return mixture, sources
    scale = PEAK_AFTER_RESCALE / peak
    return mixture * scale, sources * scale


def draw_gains_db(rng: np.random.Generator, n_src: int, max_relative_db: float = 5.0) -> List[float]:
    """Source gains: each source's level relative to the first is uniform in
    [-max_relative_db, max_relative_db] (for two sources, wsj0-2mix's +-snr/2 split)."""
    relative = [0.0] + list(rng.uniform(-max_relative_db, max_relative_db, size=n_src - 1))
    mean = float(np.mean(relative))
    return [r - mean for r in relative]
