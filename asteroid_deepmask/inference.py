"""Separation of files of any length: input checks, resampling, chunked overlap-add with source
reordering between chunks, and batch runs that report failures instead of stopping.

Files are read, resampled (soxr), separated and written block by block: the model's activations
grow with the input's length and make one-pass separation of long files run out of memory, so
memory here is that of one chunk, whatever the file's length.
"""
import glob
import itertools
import logging
import os
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import soundfile as sf
import soxr
from tqdm import tqdm

from .data.io import atomic_path
from .deploy.backends import Separator, load_separator

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


@dataclass
class AudioInput:
    """A checked input file, read block by block at the model's rate (``blocks()``), so that
    memory does not grow with the file's length."""

    path: Path
    rate: int  # the file's
    sample_rate: int  # the model's
    frames: int  # at the file's rate
    channels: int  # after downmixing
    downmix: bool

    def blocks(self, block_seconds: float = 4.0) -> Iterator[np.ndarray]:
        """(channels, time) float32 blocks at the model's rate; an InputError at the first NaN or Inf."""
        resampler = None
        if self.rate != self.sample_rate:
            resampler = soxr.ResampleStream(self.rate, self.sample_rate, self.channels, dtype="float32")
        done = 0
        with sf.SoundFile(str(self.path)) as file:
            for block in file.blocks(blocksize=max(1, int(block_seconds * self.rate)), dtype="float32", always_2d=True):
                if not np.isfinite(block).all():
                    first = done + int(np.argmax(~np.isfinite(block).all(axis=1)))
                    raise InputError(
                        f"{self.path} has NaN or infinite samples (the first at {first / self.rate:.3f} s): expected finite audio."
                    )
                done += len(block)
                if self.downmix:
                    block = block.mean(axis=1, keepdims=True)
                if resampler is not None:
                    block = resampler.resample_chunk(block, last=False)
                yield np.ascontiguousarray(block.T)
        if resampler is not None:
            yield np.ascontiguousarray(resampler.resample_chunk(np.zeros((0, self.channels), np.float32), last=True).T)


def open_input(path, sample_rate: int, resample: bool = True, channels: str = "downmix", min_samples: int = 1) -> AudioInput:
    """Check a file before separating it: an AudioInput, or an InputError that says what was expected."""
    if channels not in CHANNEL_MODES:
        raise ValueError(f"channels must be one of {CHANNEL_MODES}, got {channels!r}.")
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file.")
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: not readable (permission denied).")
    try:
        info = sf.info(str(path))
    except (RuntimeError, sf.LibsndfileError) as err:
        raise InputError(f"{path} is not an audio file soundfile can read ({err}); expected e.g. .wav or .flac.")
    if info.frames == 0:
        raise InputError(f"{path} is empty: expected at least {min_samples} samples.")
    if info.samplerate != sample_rate and not resample:
        raise InputError(f"{path} is at {info.samplerate} Hz; the model expects {sample_rate} Hz (resampling was turned off).")
    model_frames = int(info.frames * sample_rate / info.samplerate + 0.5)  # what soxr gives
    if model_frames < min_samples:
        raise InputError(
            f"{path} has {model_frames} samples at {sample_rate} Hz, fewer than the model's encoder kernel "
            f"({min_samples}): expected a longer signal."
        )
    downmix = channels == "downmix" and info.channels > 1
    return AudioInput(path, info.samplerate, sample_rate, info.frames, 1 if downmix else info.channels, downmix)


def separate_long(
    model, audio: np.ndarray, chunk_seconds: Optional[float] = 8.0, hop_seconds: Optional[float] = None, device="cpu",
    backend: Optional[str] = None, precision: Optional[str] = None,
) -> np.ndarray:  # fmt: skip
    """Separate (channels, time) audio into (channels, n_src, time): ``separate_stream`` on one block."""
    return np.concatenate(list(separate_stream(model, [audio], chunk_seconds, hop_seconds, device, backend, precision)), axis=-1)


def separate_stream(
    model, blocks: Iterable[np.ndarray], chunk_seconds: Optional[float] = 8.0, hop_seconds: Optional[float] = None, device="cpu",
    backend: Optional[str] = None, precision: Optional[str] = None,
) -> Iterator[np.ndarray]:  # fmt: skip
    """Separate a stream of (channels, time) blocks, yielding (channels, n_src, time) output as soon
    as it is final. The model sees chunks of ``chunk_seconds`` every ``hop_seconds`` (default: a
    chunk less 1 s, or half a chunk if that is more); chunks are crossfaded linearly over their overlap, after
    each chunk's sources are put in the order that best matches the previous chunk on the overlap.
    Input no longer than a chunk, or ``chunk_seconds=None``, is separated in one pass.

    ``model``: a model, anything :func:`~asteroid_deepmask.deploy.load_separator` loads (a shipped
    name, a file, a URL, a Hugging Face id, an exported ``.onnx``), or a loaded
    :class:`~asteroid_deepmask.deploy.Separator`; it runs on ``backend`` (``torch``, the default, or
    ``onnxruntime``) in ``precision`` (``fp32``, the default, ``bf16``, ``int8``); a Separator runs
    as it was loaded."""
    separator = load_separator(model, backend, precision, device)
    run = separator  # (channels, time) -> (channels, n_src, time): the channels are the batch

    if chunk_seconds is None:
        yield run(np.concatenate(list(blocks), axis=-1))
        return
    sample_rate = separator.sample_rate
    length = int(chunk_seconds * sample_rate)
    hop = int(hop_seconds * sample_rate) if hop_seconds is not None else max(length // 2, length - sample_rate)
    if not length / 2 <= hop < length:  # the linear crossfade sums to one where at most two chunks meet
        raise ValueError(
            f"hop_seconds must be at least half of chunk_seconds and below it (chunks must overlap for their "
            f"sources to be matched, and at most two may meet): got {hop_seconds} and {chunk_seconds}."
        )
    overlap = length - hop
    fade_in = np.linspace(0.0, 1.0, overlap + 2, dtype=np.float32)[1:-1]
    pending = None  # input from the current chunk's start on
    previous_tail = None  # the previous chunk's estimate over the current chunk's first `overlap` samples
    carried = None  # what earlier chunks add there, crossfade weights applied

    def separate_chunk(chunk, last):
        nonlocal previous_tail, carried
        valid = chunk.shape[-1]
        estimate = run(np.pad(chunk, ((0, 0), (0, length - valid))))[..., :valid]
        weight = np.ones(valid, dtype=np.float32)
        if previous_tail is not None:
            estimate = estimate[:, _best_order(previous_tail, estimate[..., :overlap])]
            weight[:overlap] = fade_in
        if not last:
            weight[-overlap:] *= fade_in[::-1]
        out = estimate * weight
        if previous_tail is not None:
            out[..., :overlap] += carried
        if not last:
            previous_tail, carried = estimate[..., hop:], out[..., hop:]
        return out

    for block in blocks:
        pending = block if pending is None else np.concatenate([pending, block], axis=-1)
        while pending.shape[-1] > length:  # more input follows this chunk: it is not the last one
            yield separate_chunk(pending[:, :length], last=False)[..., :hop]
            pending = pending[:, hop:]
    if pending is None:
        return
    if previous_tail is None:
        yield run(pending)  # no longer than a chunk: one pass, as without chunking
    else:
        yield separate_chunk(pending, last=True)


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
    backend: Optional[str] = None,
    precision: Optional[str] = None,
) -> List[SeparationResult]:
    """Separate every input to ``out_dir/{stem}_s{k}.wav`` at the input's rate. A failing input is
    recorded in its result and the others go on; existing outputs are kept unless ``force``.
    ``model``, ``backend`` and ``precision`` as in :func:`separate_stream`."""
    out_dir = check_writable(out_dir)
    inputs = list(inputs)
    separator = load_separator(model, backend, precision, device)
    results = []
    for path, stem in tqdm(inputs, desc="separate", unit="file"):
        targets = output_paths(out_dir, stem, separator.n_src)
        try:
            existing = [str(t) for t in targets if t.exists()]
            if existing and not force:
                raise InputError(f"{existing[0]} exists: pass --force to overwrite it.")
            audio_input = open_input(path, separator.sample_rate, resample, channels, min_samples=separator.min_samples)
            write_separated(separator, audio_input, targets, chunk_seconds, hop_seconds)
            results.append(SeparationResult(path, targets))
        except (InputError, OSError) as err:
            results.append(SeparationResult(path, [], str(err)))
    return results


def write_separated(separator: Separator, audio_input: AudioInput, targets: List[Path], chunk_seconds, hop_seconds) -> None:
    """Stream ``audio_input`` through the separator into one file per source at the input's rate and
    length. Outputs are written under temporary names and renamed at the end, so a failure
    leaves no partial file behind."""
    n_src, channels, rate = separator.n_src, audio_input.channels, audio_input.rate
    back = None
    if rate != audio_input.sample_rate:
        back = soxr.ResampleStream(audio_input.sample_rate, rate, channels * n_src, dtype="float32")
    written = 0
    progress = tqdm(total=audio_input.frames / rate, unit="s", desc=audio_input.path.name, leave=False,
                    bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f} s of audio [{elapsed}<{remaining}]")
    try:
        with ExitStack() as renames:  # each file renamed into place when all have been written, removed otherwise
            partials = [renames.enter_context(atomic_path(target)) for target in targets]
            stack = renames.enter_context(ExitStack())  # closed (the files flushed) before the renames
            files = [stack.enter_context(sf.SoundFile(str(p), "w", rate, channels, "FLOAT", format="WAV")) for p in partials]

            def write(block):  # (channels, n_src, time) at the input's rate, cut at the input's length
                nonlocal written
                block = block[..., : audio_input.frames - written]
                for k, file in enumerate(files):
                    file.write(block[:, k].T)
                written += block.shape[-1]
                progress.update(block.shape[-1] / rate)

            def resample_back(block, last=False):
                flat = block.reshape(channels * n_src, -1).T
                return np.ascontiguousarray(back.resample_chunk(np.ascontiguousarray(flat), last=last).T).reshape(channels, n_src, -1)

            for estimate in separate_stream(separator, audio_input.blocks(), chunk_seconds, hop_seconds):
                write(resample_back(estimate) if back else estimate)
            if back:
                write(resample_back(np.zeros((channels, n_src, 0), np.float32), last=True))
            if written < audio_input.frames:  # a resampler's rounding: pad the last samples
                write(np.zeros((channels, n_src, audio_input.frames - written), np.float32))
    finally:
        progress.close()
