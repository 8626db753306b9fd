"""Decoding a package's clips: the live channel, the clipping check, resampling, trimming, and
the F0 estimate behind the (estimated) sex of each speaker."""
from pathlib import Path
from typing import Optional, Tuple

import numpy as np
import soundfile as sf
import soxr

from ...io import live_channel

VOICES_FORMAT = 1  # bump when selection or processing changes, so old builds are redone

# --- Processing thresholds (all on the live channel) -------------------------------------------
# Clipping, checked at the source rate before resampling (which would smear the flat tops). A file
# is clipped if at least CLIP_SHARE of its active samples (|x| > 2 % of its peak) sit at
# |x| >= CLIP_LEVEL, or if it has CLIP_RUNS or more runs of >= CLIP_RUN_LEN consecutive samples
# there (flat tops). Checked on the real data (December 2026): it flags every Spanish tuxpaint file
# (297 of 297 sampled), 507 of 521 Malayalam klettres files (NOTES: 497), 47 of 918 Catalan
# tuxpaint (NOTES: 40), 131 of 1,892 ktuberling files (NOTES: 95). With 3 runs instead of 10 it
# also flagged 440 of 1,614 Dutch fillets lines, which have a few flat-topped peaks each
# (0.03-0.1 % of samples): mild, and 35 minutes of the Dutch main voices, so they are kept.
CLIP_LEVEL = 0.99
CLIP_SHARE = 0.001
CLIP_RUN_LEN = 3
CLIP_RUNS = 10
# Level and trimming, on 20 ms frames of the 8 kHz signal. A file whose loudest frame is below
# SILENT_FLOOR_DB dBFS is near-silent (kajongg's quiet voices peak at -31 to -50 dBFS: kept).
FRAME_S = 0.02
SILENT_FLOOR_DB = -60.0
TRIM_DB = 35.0  # leading/trailing frames more than this below the loudest frame are silence
MARGIN_S = 0.05  # kept either side of the speech
MIN_SPEECH_S = 0.25  # speech (between the first and last active frame) shorter than this: too short
# Sex estimate: median F0 (librosa.yin) over the loud frames of a speaker's first PITCH_SECONDS.
PITCH_SECONDS = 30.0
F0_MIN, F0_MAX = 60.0, 400.0
F0_THRESHOLD_HZ = 160.0


def is_clipped(x: np.ndarray) -> bool:
    """The clipping criterion (see CLIP_* above), on one channel at the source rate."""
    a = np.abs(x)
    peak = float(a.max(initial=0.0))
    if peak < CLIP_LEVEL:
        return False
    hot = a >= CLIP_LEVEL
    active = max(1, int(np.count_nonzero(a > 0.02 * peak)))
    if np.count_nonzero(hot) / active >= CLIP_SHARE:
        return True
    edges = np.diff(np.concatenate([[0], hot.astype(np.int8), [0]]))
    lengths = np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)
    return int(np.count_nonzero(lengths >= CLIP_RUN_LEN)) >= CLIP_RUNS


def frame_energies(x: np.ndarray, sample_rate: int) -> np.ndarray:
    frame = max(1, int(round(FRAME_S * sample_rate)))
    n = max(1, len(x) // frame)
    padded = np.zeros(n * frame, dtype=np.float64)
    padded[: min(len(x), n * frame)] = x[: n * frame]
    return np.mean(padded.reshape(n, frame) ** 2, axis=1)


def trim(x: np.ndarray, sample_rate: int) -> Tuple[Optional[np.ndarray], str]:
    """(trimmed signal, "") or (None, reason): near-silent if the loudest 20 ms frame is below
    SILENT_FLOOR_DB; leading and trailing frames more than TRIM_DB below it are cut, keeping
    MARGIN_S either side; too-short if under MIN_SPEECH_S of speech remains."""
    energies = frame_energies(x, sample_rate)
    loudest = float(energies.max())
    if loudest <= 0 or 10 * np.log10(loudest) < SILENT_FLOOR_DB:
        return None, "near-silent"
    active = np.flatnonzero(energies >= loudest * 10 ** (-TRIM_DB / 10))
    frame = int(round(FRAME_S * sample_rate))
    start, stop = active[0] * frame, min(len(x), (active[-1] + 1) * frame)
    if (stop - start) / sample_rate < MIN_SPEECH_S:
        return None, "too-short"
    margin = int(round(MARGIN_S * sample_rate))
    return x[max(0, start - margin): min(len(x), stop + margin)], ""


def loud_f0(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """F0 (librosa.yin) of the frames within 15 dB of the clip's loudest: mostly vowels, so
    mostly voiced; estimates pinned at the search bounds (unvoiced frames) are dropped."""
    import librosa

    frame_length, hop = 512, max(1, sample_rate // 100)
    if len(x) < frame_length:
        return np.zeros(0)
    f0 = librosa.yin(x.astype(np.float32), fmin=F0_MIN, fmax=F0_MAX, sr=sample_rate, frame_length=frame_length,
                     hop_length=hop, center=True)
    rms = librosa.feature.rms(y=x, frame_length=frame_length, hop_length=hop, center=True)[0][: len(f0)]
    loud = rms >= rms.max() * 10 ** (-15 / 20)
    keep = loud & (f0 > F0_MIN * 1.05) & (f0 < F0_MAX * 0.95)
    return f0[keep]


def estimate_sex(f0: np.ndarray) -> Tuple[str, float]:
    """("m" or "f", median F0): an *estimate* from median F0 against F0_THRESHOLD_HZ (160 Hz);
    wrong for high male or low female voices, and it says nothing about the person. "?" if no F0."""
    if len(f0) == 0:
        return "?", float("nan")
    median = float(np.median(f0))
    return ("m" if median < F0_THRESHOLD_HZ else "f"), median


def process_file(source: Path, sample_rate: int) -> Tuple[Optional[np.ndarray], str, str]:
    """Decode, take the live channel, check clipping, resample (soxr), trim.
    Returns (8 kHz float32 or None, reason, detail)."""
    try:
        wav, rate = sf.read(str(source), dtype="float32", always_2d=True)
    except Exception as err:  # soundfile raises several types for corrupt or unknown files
        return None, "unreadable", f"{type(err).__name__}: {str(err)[:120]}"
    if wav.size == 0:
        return None, "unreadable", "no samples"
    x = live_channel(wav)
    if not np.all(np.isfinite(x)):
        return None, "unreadable", "non-finite samples"
    if is_clipped(x):
        return None, "clipped", ""
    if rate != sample_rate:
        x = soxr.resample(x, rate, sample_rate).astype(np.float32, copy=False)
    trimmed, reason = trim(x, sample_rate)
    if trimmed is None:
        return None, reason, ""
    return np.clip(trimmed, -1.0, 1.0), "", ""


def processing_settings(sample_rate: int) -> dict:
    """Every threshold that changes which clips are kept or what they contain: part of the
    settings that make a build (and a package's cached clips) reusable."""
    return {"format": VOICES_FORMAT, "sample_rate": sample_rate, "clip": [CLIP_LEVEL, CLIP_SHARE, CLIP_RUN_LEN, CLIP_RUNS],
            "frame_s": FRAME_S, "silent_floor_db": SILENT_FLOOR_DB, "trim_db": TRIM_DB, "margin_s": MARGIN_S,
            "min_speech_s": MIN_SPEECH_S, "pitch": [PITCH_SECONDS, F0_MIN, F0_MAX, F0_THRESHOLD_HZ]}
