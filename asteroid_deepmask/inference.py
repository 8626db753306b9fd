"""Separation of files of any length: input checks, resampling, chunked overlap-add with source
reordering between chunks, and batch runs that report failures instead of stopping.

Chunking bounds the model's activations, which grow with the input length and make one-pass
separation of long files run out of memory; what is kept for the whole file is only the audio.
"""
import glob
import itertools
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Tuple

import numpy as np
import soundfile as sf
import torch
from scipy.signal import resample_poly
from tqdm import tqdm

log = logging.getLogger(__name__)

CHANNEL_MODES = ("downmix", "separate")


class InputError(ValueError):
    """An input that cannot be separated; the message says what was expected."""


def audio_extensions() -> set:
    return {f".{ext.lower()}" for ext in sf.available_formats()}


def collect_inputs(inputs: Sequence[str]) -> List[Tuple[Path, Path]]:
    """(file, output stem relative to the output folder) for files, globs and folders (recursive)."""
    extensions = audio_extensions()
    found = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in extensions):
                found.append((file, file.relative_to(path).with_suffix("")))
        elif path.exists():
            found.append((path, Path(path.stem)))
        else:
            matches = sorted(Path(p) for p in glob.glob(item, recursive=True) if Path(p).is_file())
            if not matches:
                raise FileNotFoundError(f"{item}: no such file, folder or glob match (expected audio files or folders of them).")
            found += [(p, Path(p.stem)) for p in matches]
    return found


def read_input(path, sample_rate: int, resample: bool = True, channels: str = "downmix", min_samples: int = 1):
    """(audio as (channels, time) float32 at ``sample_rate``, the file's own rate), or an InputError."""
    if channels not in CHANNEL_MODES:
        raise ValueError(f"channels must be one of {CHANNEL_MODES}, got {channels!r}.")
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file.")
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: not readable (permission denied).")
    try:
        audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError) as err:
        raise InputError(f"{path} is not an audio file soundfile can read ({err}); expected e.g. .wav or .flac.")
    if audio.shape[0] == 0:
        raise InputError(f"{path} is empty: expected at least {min_samples} samples.")
    bad = int(np.count_nonzero(~np.isfinite(audio)))
    if bad:
        raise InputError(f"{path} has {bad} NaN or infinite samples: expected finite audio.")
    audio = audio.T  # (channels, time)
    if channels == "downmix" and audio.shape[0] > 1:
        audio = audio.mean(axis=0, keepdims=True)
    if rate != sample_rate:
        if not resample:
            raise InputError(f"{path} is at {rate} Hz; the model expects {sample_rate} Hz (resampling was turned off).")
        audio = _resample(audio, rate, sample_rate)
    if audio.shape[1] < min_samples:
        raise InputError(
            f"{path} has {audio.shape[1]} samples at {sample_rate} Hz, fewer than the model's encoder kernel "
            f"({min_samples}): expected a longer signal."
        )
    return np.ascontiguousarray(audio, dtype=np.float32), rate


def _resample(audio: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    return resample_poly(audio, int(rate_out), int(rate_in), axis=-1).astype(np.float32)  # scipy reduces by the gcd


@torch.inference_mode()
def separate_long(model, audio: np.ndarray, chunk_seconds: Optional[float] = 8.0, hop_seconds: Optional[float] = None, device="cpu") -> np.ndarray:
    """Separate (channels, time) audio into (channels, n_src, time), in chunks of ``chunk_seconds``
    every ``hop_seconds`` (default: half a chunk). Chunks are crossfaded linearly over their
    overlap, after each chunk's sources are put in the order that best matches the previous chunk
    on the overlap. ``chunk_seconds=None`` separates in one pass."""
    sample_rate = int(model.sample_rate)
    n_src = model.masker.n_src
    total = audio.shape[-1]
    if chunk_seconds is None or chunk_seconds * sample_rate >= total:
        return model(torch.from_numpy(audio).to(device)).cpu().numpy()
    length = int(chunk_seconds * sample_rate)
    hop = int((hop_seconds or chunk_seconds / 2) * sample_rate)
    if not 0 < hop < length:
        raise ValueError(
            f"hop_seconds must be above 0 and below chunk_seconds (chunks must overlap for their sources to be "
            f"matched): got {hop_seconds} and {chunk_seconds}."
        )
    overlap = length - hop
    fade_in = np.linspace(0.0, 1.0, overlap + 2, dtype=np.float32)[1:-1]
    out = np.zeros((audio.shape[0], n_src, total), dtype=np.float32)
    previous_tail = None
    starts = list(range(0, max(total - overlap, 1), hop))
    for index, start in enumerate(starts):
        chunk = audio[:, start : start + length]
        valid = chunk.shape[-1]
        if valid < length:
            chunk = np.pad(chunk, ((0, 0), (0, length - valid)))
        estimate = model(torch.from_numpy(chunk).to(device)).cpu().numpy()[..., :valid]
        if previous_tail is not None and overlap:
            estimate = estimate[:, _best_order(previous_tail, estimate[..., :overlap])]
        weight = np.ones(valid, dtype=np.float32)
        if index > 0 and overlap:
            weight[:overlap] = fade_in[: min(overlap, valid)]
        if index < len(starts) - 1 and overlap:
            weight[-overlap:] *= fade_in[::-1]
        out[..., start : start + valid] += estimate * weight
        previous_tail = estimate[..., hop:] if valid > hop else None
    return out


def _best_order(reference: np.ndarray, candidate: np.ndarray) -> List[int]:
    """The source order of ``candidate`` (channels, n_src, time) that best correlates with ``reference``."""
    n_src = candidate.shape[1]
    overlap = min(reference.shape[-1], candidate.shape[-1])
    ref, cand = reference[..., :overlap], candidate[..., :overlap]
    similarity = np.einsum("cit,cjt->ij", ref, cand)  # summed over channels
    best = max(itertools.permutations(range(n_src)), key=lambda perm: sum(similarity[i, j] for i, j in enumerate(perm)))
    return list(best)


@dataclass
class SeparationResult:
    input: Path
    outputs: List[Path]
    error: Optional[str] = None


def output_paths(out_dir: Path, stem: Path, n_src: int) -> List[Path]:
    return [Path(out_dir) / stem.parent / f"{stem.name}_s{k}.wav" for k in range(1, n_src + 1)]


def check_writable(out_dir) -> Path:
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".asteroid-deepmask-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise InputError(f"Cannot write to the output folder {out_dir} ({err.strerror}): expected a writable folder.")
    return out_dir


def separate_files(
    model,
    inputs: Iterable[Tuple[Path, Path]],
    out_dir,
    resample: bool = True,
    channels: str = "downmix",
    chunk_seconds: Optional[float] = 8.0,
    hop_seconds: Optional[float] = None,
    force: bool = False,
    device="cpu",
) -> List[SeparationResult]:
    """Separate every input to ``out_dir/{stem}_s{k}.wav`` at the input's rate. A failing input is
    recorded in its result and the others go on; existing outputs are kept unless ``force``."""
    out_dir = check_writable(out_dir)
    inputs = list(inputs)
    model = model.eval().to(device)
    kernel = int(model.encoder.filterbank.kernel_size)
    results = []
    for path, stem in tqdm(inputs, desc="separate", unit="file"):
        targets = output_paths(out_dir, stem, model.masker.n_src)
        try:
            existing = [str(t) for t in targets if t.exists()]
            if existing and not force:
                raise InputError(f"{existing[0]} exists: pass --force to overwrite it.")
            audio, rate = read_input(path, int(model.sample_rate), resample, channels, min_samples=kernel)
            estimates = separate_long(model, audio, chunk_seconds, hop_seconds, device)  # (channels, n_src, time)
            for k, target in enumerate(targets):
                source = estimates[:, k]
                if rate != int(model.sample_rate):
                    source = _resample(source, int(model.sample_rate), rate)
                target.parent.mkdir(parents=True, exist_ok=True)
                sf.write(str(target), source.T, rate, subtype="FLOAT")
            results.append(SeparationResult(path, targets))
        except (InputError, OSError) as err:
            results.append(SeparationResult(path, [], str(err)))
    return results
