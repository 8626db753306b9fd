"""The speakers of a folder of single-speaker recordings, decoded once and drawn from: what dynamic
mixing (:mod:`.dynamic_mix`) and the fixed speaker mixtures (:mod:`.prep.speaker_mixtures`) read.

Layout: ``ROOT/<speaker>/**/<clip>`` in any format soundfile reads, at any sample rate. Each
speaker's clips are decoded once, resampled to the model's rate (soxr) and cached as one int16
array per speaker, which the data loader memory-maps: memory stays flat however large the
folder, and worker processes share the pages.

A random segment of a speaker (:meth:`SpeakerBank.draw_segment`) is a crop of one clip, or the
speaker's short clips joined with short pauses until they reach the segment.
"""
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List

import numpy as np
import soundfile as sf
from tqdm import tqdm

from .io import AUDIO_SUFFIXES, atomic_path, read_mono

log = logging.getLogger(__name__)

CACHE_FORMAT = 1  # bump when the cached arrays change meaning
PAUSE_S = (0.1, 0.5)  # pause between a speaker's joined clips


def default_cache_dir(root, sample_rate: int) -> Path:
    """Per-folder cache under ``$ASTEROID_DEEPMASK_CACHE`` (default ``~/.cache/asteroid-deepmask``)."""
    base = Path(os.environ.get("ASTEROID_DEEPMASK_CACHE", Path.home() / ".cache" / "asteroid-deepmask"))
    key = hashlib.sha1(str(Path(root).resolve()).encode()).hexdigest()[:12]
    return base / "speakers" / f"{Path(root).name}-{key}-{sample_rate}hz"


@dataclass
class Speaker:
    """One speaker's audio: clips concatenated (int16, memory-mapped) and their start offsets."""

    name: str
    audio: np.ndarray
    offsets: np.ndarray  # clip k is audio[offsets[k]:offsets[k + 1]]

    @property
    def n_samples(self) -> int:
        return int(self.offsets[-1])


class SpeakerBank:
    """The speakers of a folder, decoded, resampled and cached once.

    Args:
        root: folder with one subfolder per speaker (hidden folders are ignored).
        sample_rate: the model's rate; clips at other rates are resampled.
        min_seconds: every speaker needs at least this much audio (one training segment).
        min_speakers: how many speakers the folder needs (C of a C-speaker mixture).
        cache_dir: where the decoded arrays go (default: :func:`default_cache_dir`).

    Raises:
        FileNotFoundError / ValueError, naming the folder: a missing root, fewer than
        ``min_speakers`` speakers, a speaker folder without readable audio, a speaker with less
        than ``min_seconds``. Unreadable files are skipped and counted in the log.
    """

    def __init__(self, root, sample_rate: int = 8000, min_seconds: float = 0.0, min_speakers: int = 2, cache_dir=None):
        self.root, self.sample_rate = Path(root), sample_rate
        if not self.root.is_dir():
            raise FileNotFoundError(f"Speaker folder {self.root} does not exist: expected ROOT/<speaker>/<clips>.")
        folders = sorted(p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("."))
        if len(folders) < min_speakers:
            raise ValueError(
                f"{self.root} has {len(folders)} speaker folder(s), fewer than the {min_speakers} that a "
                f"{min_speakers}-speaker mixture needs: expected one subfolder per speaker."
            )
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir(self.root, sample_rate)
        self.skipped: Dict[str, str] = {}
        self.speakers: List[Speaker] = [self._load(folder) for folder in tqdm(folders, desc=f"speakers {self.root.name}", unit="spk", leave=False)]
        if self.skipped:
            log.warning("%s: skipped %d unreadable file(s), e.g. %s", self.root, len(self.skipped), next(iter(self.skipped.items())))
        short = [s for s in self.speakers if s.n_samples < min_seconds * sample_rate]
        if short:
            names = ", ".join(f"{s.name} ({s.n_samples / sample_rate:.2f} s)" for s in short[:5])
            raise ValueError(
                f"{len(short)} speaker(s) in {self.root} have less audio than one {min_seconds:g} s segment: {names}. "
                "Add recordings, remove those folders, or lower data.segment."
            )
        log.info("%s: %d speakers, %.1f min at %d Hz (cache %s)", self.root, len(self), self.total_seconds / 60, sample_rate, self.cache_dir)

    def __len__(self) -> int:
        return len(self.speakers)

    @property
    def total_seconds(self) -> float:
        return sum(s.n_samples for s in self.speakers) / self.sample_rate

    def _load(self, folder: Path) -> Speaker:
        files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
        if not files:
            raise ValueError(f"Speaker folder {folder} has no audio files: expected files soundfile reads ({', '.join(AUDIO_SUFFIXES[:6])}, ...).")
        stamp = hashlib.sha1(
            json.dumps([CACHE_FORMAT, self.sample_rate] + [[str(f.relative_to(folder)), f.stat().st_size, f.stat().st_mtime_ns] for f in files]).encode()
        ).hexdigest()
        audio_path, index_path = self.cache_dir / f"{folder.name}.npy", self.cache_dir / f"{folder.name}.json"
        if index_path.is_file():
            index = json.loads(index_path.read_text())
            if index.get("stamp") == stamp and audio_path.is_file():
                self.skipped.update(index["skipped"])
                return Speaker(folder.name, np.load(audio_path, mmap_mode="r"), np.asarray(index["offsets"]))
        clips, skipped = [], {}
        for path in files:
            try:
                wav = read_mono(path, self.sample_rate)
            except (RuntimeError, sf.LibsndfileError, ValueError) as error:
                skipped[str(path)] = str(error).splitlines()[0] if str(error) else type(error).__name__
                continue
            if wav.size and np.all(np.isfinite(wav)):
                clips.append(np.round(np.clip(wav, -1, 32767 / 32768) * 32768).astype(np.int16))
            else:
                skipped[str(path)] = "empty or not finite"
        if not clips:
            raise ValueError(f"Speaker folder {folder} has no readable audio: {len(skipped)} file(s) failed, e.g. {next(iter(skipped.items()))}.")
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        offsets = np.concatenate([[0], np.cumsum([len(c) for c in clips])])
        # Temporary names unique to this process: two runs may fill one cache at the same time.
        with atomic_path(audio_path, unique=True) as tmp, open(tmp, "wb") as handle:
            np.save(handle, np.concatenate(clips))
        with atomic_path(index_path, unique=True) as tmp:
            tmp.write_text(json.dumps({"stamp": stamp, "offsets": offsets.tolist(), "skipped": skipped}))
        self.skipped.update(skipped)
        return Speaker(folder.name, np.load(audio_path, mmap_mode="r"), offsets)

    def draw_segment(self, speaker: Speaker, n_samples: int, rng: np.random.Generator) -> np.ndarray:
        """A random ``n_samples`` of ``speaker``: a crop of one clip, or clips joined with pauses.

        Only the samples of the segment are read and converted, however long the clips (a draw
        from an hour-long recording costs as little as from a short one)."""
        offsets = speaker.offsets
        lengths = np.diff(offsets)
        first = int(rng.integers(len(lengths)))
        pieces, total = [(first, int(lengths[first]))], int(lengths[first])  # (clip, length); clip None: a pause
        while total < n_samples:
            pause = int(rng.uniform(*PAUSE_S) * self.sample_rate)
            k = int(rng.integers(len(lengths)))
            pieces += [(None, pause), (k, int(lengths[k]))]
            total += pause + int(lengths[k])
        start = int(rng.integers(total - n_samples + 1))
        out = np.zeros(n_samples, dtype=np.float32)
        position = 0
        for k, length in pieces:
            lo, hi = max(start, position), min(start + n_samples, position + length)
            if k is not None and lo < hi:
                begin = int(offsets[k]) + lo - position
                out[lo - start : hi - start] = speaker.audio[begin : begin + hi - lo].astype(np.float32) / 32768.0
            position += length
        return out
