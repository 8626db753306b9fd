"""Training on any folder of single-speaker recordings, mixed on the fly (dynamic mixing).

Layout: ``ROOT/<speaker>/**/<clip>`` in any format soundfile reads, at any sample rate. Each
speaker's clips are decoded once, resampled to the model's rate (soxr) and cached as one int16
array per speaker, which the data loader memory-maps: memory stays flat however large the
folder, and worker processes share the pages.

A training example draws C distinct speakers (uniformly, so a speaker with one minute counts
as much as one with an hour: more voices, not more of the same voice), takes a random segment
of each (a speaker's short clips joined with short pauses until they reach the segment), and
mixes them as wsj0-mix does (:mod:`.mixing`). Example ``k`` of epoch ``e`` is drawn from
``numpy.random.default_rng([seed, e, k])``: reproducible, new every epoch, and the same
whichever worker process draws it. :class:`EpochSampler` tells the dataset the epoch (Lightning
calls its ``set_epoch``, under DDP too).

Validation and test sets are fixed: :func:`write_speaker_mixtures` writes them in the wsj0-mix
layout, which ``evaluate`` and Asteroid's ``Wsj0mixDataset`` read unchanged.
"""
import csv
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import soundfile as sf
import torch
from torch.utils.data import Dataset, Sampler
from tqdm import tqdm

from .augment import Augmenter
from .mixing import ACTIVE_LEVEL_DB, active_level, draw_gains_db, mix_sources, rescale_if_clipping
from .wavio import AUDIO_SUFFIXES, read_mono, write_wav_atomic

log = logging.getLogger(__name__)

CACHE_FORMAT = 1  # bump when the cached arrays change meaning
PAUSE_S = (0.1, 0.5)  # pause between a speaker's joined clips
MIN_ACTIVE_RMS = 1e-4  # a drawn segment quieter than this while active (-80 dBFS) is drawn again
MAX_REDRAWS = 20


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

    def clip(self, k: int) -> np.ndarray:
        return self.audio[self.offsets[k] : self.offsets[k + 1]].astype(np.float32) / 32768.0


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
        tmp = audio_path.with_name(f"{audio_path.stem}.{os.getpid()}.part.npy")
        np.save(tmp, np.concatenate(clips))
        os.replace(tmp, audio_path)
        tmp = index_path.with_name(f"{index_path.stem}.{os.getpid()}.part")
        tmp.write_text(json.dumps({"stamp": stamp, "offsets": offsets.tolist(), "skipped": skipped}))
        os.replace(tmp, index_path)
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


class DynamicMixDataset(Dataset):
    """New C-speaker mixtures every epoch from a :class:`SpeakerBank` (see the module docstring).

    Items are ``(mixture [T], targets [C, T])`` float tensors, as Asteroid's ``Wsj0mixDataset``.
    With ``augment`` on, each source is perturbed (speed, band, tilt: the target too), put in a
    room (the target stays dry unless ``reverb_target: reverberant``), and the mixture gets
    noise and gain; the sources are levelled after the perturbation, on the target.
    """

    def __init__(
        self,
        bank: SpeakerBank,
        n_src: int,
        segment: float,
        examples_per_epoch: int,
        seed: int = 0,
        augment: Optional[Augmenter] = None,
        max_relative_db: float = 5.0,
    ):
        if len(bank) < n_src:
            raise ValueError(f"{bank.root} has {len(bank)} speakers, fewer than n_src={n_src}.")
        self.bank, self.n_src, self.seed = bank, n_src, seed
        self.n_samples = int(round(segment * bank.sample_rate))
        self.examples_per_epoch = int(examples_per_epoch)
        self.augment = augment or Augmenter(sample_rate=bank.sample_rate)
        self.max_relative_db = max_relative_db
        self.speed_max = float(self.augment.conf["speed_max"])

    def __len__(self) -> int:
        return self.examples_per_epoch

    def draw(self, epoch: int, index: int):
        """Example ``index`` of ``epoch``: (mixture, targets, speaker names, gains in dB)."""
        rng = np.random.default_rng([self.seed, epoch, index])
        chosen = rng.choice(len(self.bank), size=self.n_src, replace=False)
        raw_len = int(np.ceil(self.n_samples * self.speed_max)) + 1  # speed-up shortens
        wet, dry = [], []
        for k in chosen:
            for _ in range(MAX_REDRAWS):
                source = self.augment.source(self.bank.draw_segment(self.bank.speakers[k], raw_len, rng), rng)
                start = int(rng.integers(len(source) - self.n_samples + 1))
                source = source[start : start + self.n_samples]
                if np.max(np.abs(source)) > 0 and active_level(source, self.bank.sample_rate) > MIN_ACTIVE_RMS:
                    break
            else:
                raise ValueError(f"Speaker {self.bank.speakers[k].name} of {self.bank.root} gave {MAX_REDRAWS} silent segments: check its recordings.")
            in_mix, target = self.augment.room(source, rng)
            wet.append(in_mix)
            dry.append(target)
        gains = draw_gains_db(rng, self.n_src, self.max_relative_db)
        scales = [10 ** ((ACTIVE_LEVEL_DB + g) / 20) / active_level(t, self.bank.sample_rate) for t, g in zip(dry, gains)]
        targets = np.stack([t * s for t, s in zip(dry, scales)]).astype(np.float32)
        mixture = np.sum([w * s for w, s in zip(wet, scales)], axis=0).astype(np.float32)
        mixture, targets = self.augment.mixture(mixture, targets, rng)
        mixture, targets = rescale_if_clipping(mixture, targets)
        return mixture, targets, [self.bank.speakers[k].name for k in chosen], gains

    def __getitem__(self, item: int):
        epoch, index = divmod(int(item), self.examples_per_epoch)
        mixture, targets, _, _ = self.draw(epoch, index)
        return torch.from_numpy(np.ascontiguousarray(mixture)), torch.from_numpy(np.ascontiguousarray(targets))


class EpochSampler(Sampler):
    """Yields ``epoch * n + i`` for i in 0..n-1, so :class:`DynamicMixDataset` knows the epoch in
    every worker. Lightning calls ``set_epoch`` before each epoch (and wraps this sampler for DDP,
    each rank then drawing its own share of the indices)."""

    def __init__(self, n: int):
        self.n, self.epoch = n, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        return iter(range(self.epoch * self.n, (self.epoch + 1) * self.n))


def write_speaker_mixtures(
    speakers_dir,
    out_dir,
    n_src: int,
    n_mixtures: int,
    seed: int = 0,
    sample_rate: int = 8000,
    seconds: Sequence[float] = (3.0, 6.0),
    cache_dir=None,
) -> Path:
    """A fixed validation or test set from a speaker folder, in the wsj0-mix layout
    (``OUT/{mix,s1,..}/NAME.wav``, PCM_16, sources summing exactly to the mixture), with
    ``mixtures.csv`` (speakers and gains of each mixture) and ``corpus.json`` written last.

    Lengths are uniform in ``seconds``; nothing is augmented. Kept when complete with the same
    settings; resumed when a previous run died half-way.
    """
    out_dir = Path(out_dir)
    settings = dict(speakers_dir=str(Path(speakers_dir).resolve()), n_src=n_src, n_mixtures=n_mixtures, seed=seed,
                    sample_rate=sample_rate, seconds=list(seconds), format=CACHE_FORMAT)
    marker = out_dir / "corpus.json"
    if marker.is_file():
        previous = json.loads(marker.read_text())
        if previous.get("settings") == settings:
            log.info("%s is complete (%d mixtures): kept", out_dir, n_mixtures)
            return out_dir
        raise FileExistsError(f"{out_dir} holds mixtures made with other settings ({previous.get('settings')}); remove it or choose another folder.")
    bank = SpeakerBank(speakers_dir, sample_rate, min_seconds=0.0, min_speakers=n_src, cache_dir=cache_dir)
    for sub in ["mix"] + [f"s{k}" for k in range(1, n_src + 1)]:
        (out_dir / sub).mkdir(parents=True, exist_ok=True)
    rows = []
    for index in tqdm(range(n_mixtures), desc=f"mixtures {out_dir.name}", unit="mix"):
        rng = np.random.default_rng([seed, n_src, index])
        chosen = rng.choice(len(bank), size=n_src, replace=False)
        n_samples = int(rng.uniform(*seconds) * sample_rate)
        raw = [bank.draw_segment(bank.speakers[k], n_samples, rng) for k in chosen]
        gains = draw_gains_db(rng, n_src)
        names = [bank.speakers[k].name for k in chosen]
        name = f"{index:05d}_" + "_".join(names) + ".wav"
        rows.append([name] + [x for pair in zip(names, (round(g, 4) for g in gains)) for x in pair])
        if (out_dir / "mix" / name).exists():
            continue
        mixture, sources = mix_sources(raw, gains, sample_rate)
        for k, source in enumerate(sources, start=1):
            write_wav_atomic(out_dir / f"s{k}" / name, source, sample_rate)
        write_wav_atomic(out_dir / "mix" / name, mixture, sample_rate)  # last: a mixture means "done"
    with open(out_dir / "mixtures.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["name"] + [c for k in range(1, n_src + 1) for c in (f"s{k}_speaker", f"s{k}_gain_db")])
        writer.writerows(rows)
    marker.write_text(json.dumps({"settings": settings, "speakers": sorted({r for row in rows for r in row[1::2]})}, indent=2))
    return out_dir
