"""Reading any audio file as the model's mono signal, and writing wavs atomically."""
import os
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

AUDIO_SUFFIXES = tuple("." + ext.lower() for ext in sf.available_formats()) + (".opus",)


def read_mono(path, sample_rate: int) -> np.ndarray:
    """Decode ``path``, keep its live channel (the one with most energy: some recordings have an
    empty channel, which averaging would halve), resample to ``sample_rate``; float32."""
    wav, rate = sf.read(str(path), dtype="float32", always_2d=True)
    wav = wav[:, int(np.argmax(np.sum(wav.astype(np.float64) ** 2, axis=0)))] if wav.shape[1] > 1 else wav[:, 0]
    if rate != sample_rate:
        wav = soxr.resample(wav, rate, sample_rate).astype(np.float32, copy=False)
    return wav


def write_wav_atomic(path: Path, wav: np.ndarray, sample_rate: int) -> None:
    """Write a PCM_16 wav under a temporary name and rename it, so no half-written file is ever seen."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    sf.write(tmp, wav, sample_rate, subtype="PCM_16", format="WAV")
    os.replace(tmp, path)
