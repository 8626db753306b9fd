"""Reading any audio file as the model's mono signal; writing files atomically; completion markers.

Every file the package writes goes through :func:`atomic_path`: it is written under a temporary
name and renamed, so no half-written file is ever seen. A folder that a long step fills is marked
complete by a json file written last (:func:`mark_complete`); :func:`completed` reads it back and
says whether the folder is complete with the settings asked for, else refuses or redoes it.
"""
import csv
import hashlib
import json
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence

import numpy as np
import soundfile as sf
import soxr

AUDIO_SUFFIXES = tuple("." + ext.lower() for ext in sf.available_formats()) + (".opus",)
DONE = "done.json"  # written last in a finished folder whose settings need no check: a folder without it is redone


def file_digest(path, algorithm: str) -> str:
    """The hex digest (``"md5"``, ``"sha1"``, ...) of a file, read in 1 MiB blocks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def live_channel(wav: np.ndarray) -> np.ndarray:
    """The channel with the most energy of a [samples, channels] signal: some recordings (French
    Tux Paint) have an empty channel, which averaging would halve. A 1-D signal is returned as is."""
    if wav.ndim == 1:
        return wav
    return wav[:, int(np.argmax(np.sum(wav.astype(np.float64) ** 2, axis=0)))]


def read_mono(path, sample_rate: int) -> np.ndarray:
    """Decode ``path``, keep its live channel (the one with most energy: some recordings have an
    empty channel, which averaging would halve), resample to ``sample_rate``; float32."""
    wav, rate = sf.read(str(path), dtype="float32", always_2d=True)
    wav = live_channel(wav)
    if rate != sample_rate:
        wav = soxr.resample(wav, rate, sample_rate).astype(np.float32, copy=False)
    return wav


@contextmanager
def atomic_path(path, unique: bool = False) -> Iterator[Path]:
    """Yield a temporary name beside ``path`` (``NAME.part``; with ``unique``, ``NAME.<pid>.part``,
    for files that two processes may write at once); once the block succeeds it is renamed to
    ``path``, if it fails it is removed. The parent folder is created. A folder can be made the
    same way (``os.replace`` needs ``path`` absent or an empty folder then)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + (f".{os.getpid()}" if unique else "") + ".part")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        raise


def write_wav_atomic(path: Path, wav: np.ndarray, sample_rate: int) -> None:
    """Write a PCM_16 wav under a temporary name and rename it, so no half-written file is ever seen."""
    with atomic_path(path) as tmp:
        sf.write(tmp, wav, sample_rate, subtype="PCM_16", format="WAV")


def write_text_atomic(path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(path, content: Any, indent: Optional[int] = None, ensure_ascii: bool = True) -> None:
    write_text_atomic(path, json.dumps(content, indent=indent, ensure_ascii=ensure_ascii))


def write_csv_atomic(path, header: Sequence[str], rows: Iterable[Sequence]) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def mark_complete(marker, content: dict, indent: Optional[int] = None, ensure_ascii: bool = True) -> None:
    """Write the completion marker of a folder: last, once everything else is written."""
    write_json_atomic(marker, content, indent, ensure_ascii)


def completed(marker, key: Optional[str] = None, value: Any = None,
              refuse: Optional[Callable[[dict], str]] = None) -> Optional[dict]:
    """The content of ``marker`` if it says its folder is complete with these settings
    (``content[key] == value``; with ``key`` None, any marker), else None: no marker, or one
    written with other settings, which is removed so that the folder is redone, or with
    ``refuse`` raises ``FileExistsError(refuse(content))``."""
    marker = Path(marker)
    if not marker.is_file():
        return None
    content = json.loads(marker.read_text())
    if key is None or content.get(key) == value:
        return content
    if refuse is not None:
        raise FileExistsError(refuse(content))
    marker.unlink()
    return None
