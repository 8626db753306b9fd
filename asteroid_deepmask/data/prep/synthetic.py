"""A wsj0-mix style corpus of synthetic speech: the offline demo's data.

Layout as wsj0-mix: ``{root}/{n}speakers/wav8k/min/{tr,cv,tt}/{mix,s1,s2[,s3]}/NAME.wav``
(16-bit PCM, every source folder sums exactly to its mixture). Splits use disjoint speakers.
Each split is planned from the seed, generated in parallel, and marked complete by
``corpus.json`` only once every file is written; a split without it is resumed, not used.
"""
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np

from ..io import completed, mark_complete, write_csv_atomic, write_wav_atomic
from ..layout import SPLITS, split_dir
from ..mixing import draw_gains_db, mix_sources
from .parallel import run_parallel
from .tts import Voice, require_tts_tools, sentences, synthesize, voice_bank

log = logging.getLogger(__name__)

SAMPLE_RATE = 8000
# Share of the speakers (timbres) that each split draws from; splits share none.
SPEAKER_SHARES = {"tr": 0.7, "cv": 0.15, "tt": 0.15}
CORPUS_FORMAT = 1  # bump when the generation changes, so old corpora are not mistaken for new ones


@dataclass(frozen=True)
class MixtureSpec:
    name: str
    voices: Tuple[Voice, ...]
    texts: Tuple[str, ...]
    gains_db: Tuple[float, ...]


def speakers_by_split(seed: int) -> Dict[str, List[str]]:
    """Disjoint speaker lists for tr/cv/tt, shuffled by ``seed``."""
    speakers = sorted({voice.speaker for voice in voice_bank()})
    np.random.default_rng(seed).shuffle(speakers)
    n_cv = round(len(speakers) * SPEAKER_SHARES["cv"])
    n_tt = round(len(speakers) * SPEAKER_SHARES["tt"])
    return {"tt": speakers[:n_tt], "cv": speakers[n_tt : n_tt + n_cv], "tr": speakers[n_tt + n_cv :]}


def plan_split(split: str, n_src: int, n_mixtures: int, seed: int) -> List[MixtureSpec]:
    """The mixtures of one split: speakers, voices, sentences and gains, all drawn from ``seed``."""
    speakers = speakers_by_split(seed)[split]
    bank = voice_bank()
    voices_of = {s: [v for v in bank if v.speaker == s] for s in speakers}
    texts = sentences()
    rng = np.random.default_rng([seed, n_src, SPLITS.index(split)])
    plan, names = [], set()
    while len(plan) < n_mixtures:
        chosen = rng.choice(len(speakers), size=n_src, replace=False)
        voices = tuple(voices_of[speakers[i]][rng.integers(len(voices_of[speakers[i]]))] for i in chosen)
        text_ids = rng.choice(len(texts), size=n_src, replace=False)
        gains = tuple(round(g, 4) for g in draw_gains_db(rng, n_src))
        name = "_".join(f"{v.name}-{t:03d}_{g:.4f}" for v, t, g in zip(voices, text_ids, gains)) + ".wav"
        if name not in names:
            names.add(name)
            plan.append(MixtureSpec(name, voices, tuple(texts[t] for t in text_ids), gains))
    return plan


def _fingerprint(plan: Sequence[MixtureSpec]) -> str:
    digest = hashlib.sha256(f"format={CORPUS_FORMAT};sr={SAMPLE_RATE}".encode())
    for spec in plan:
        digest.update(repr(spec).encode())
    return digest.hexdigest()


def _make_mixture(job: Tuple[Path, MixtureSpec]) -> str:
    directory, spec = job
    raw = [synthesize(voice, text, SAMPLE_RATE) for voice, text in zip(spec.voices, spec.texts)]
    mixture, sources = mix_sources(raw, spec.gains_db, SAMPLE_RATE)
    for k, source in enumerate(sources, start=1):
        write_wav_atomic(directory / f"s{k}" / spec.name, source, SAMPLE_RATE)
    write_wav_atomic(directory / "mix" / spec.name, mixture, SAMPLE_RATE)  # last: a mixture file means "done"
    return spec.name


def generate_split(root, n_src: int, split: str, n_mixtures: int, seed: int = 0, workers: int = None) -> Path:
    """Generate one split, or reuse it if complete; resume it if a previous run died half-way.

    Raises:
        FileExistsError: the split is complete but was made from another configuration.
    """
    directory = split_dir(root, n_src, split)
    plan = plan_split(split, n_src, n_mixtures, seed)
    fingerprint = _fingerprint(plan)
    marker = directory / "corpus.json"

    def refuse(previous: dict) -> str:
        return (f"{directory} holds a corpus made with other settings ({previous.get('settings')}); "
                f"remove it or choose another output folder for {dict(n_src=n_src, n_mixtures=n_mixtures, seed=seed)}.")

    if completed(marker, "fingerprint", fingerprint, refuse=refuse) is not None:
        log.info("%s is complete (%d mixtures): kept", directory, n_mixtures)
        return directory
    require_tts_tools()
    for sub in ["mix"] + [f"s{k}" for k in range(1, n_src + 1)]:
        (directory / sub).mkdir(parents=True, exist_ok=True)
        for stale in (directory / sub).glob("*.part"):
            stale.unlink()
    todo = [spec for spec in plan if not (directory / "mix" / spec.name).exists()]
    if len(todo) < len(plan):
        log.info("%s was left half-written: %d of %d mixtures to go", directory, len(todo), len(plan))
    run_parallel(_make_mixture, [(directory, spec) for spec in todo], workers, f"{n_src}speakers/{split}", unit="mix", chunksize=4)
    _write_manifest(directory / "mixtures.csv", plan)
    settings = dict(n_src=n_src, split=split, n_mixtures=n_mixtures, seed=seed, sample_rate=SAMPLE_RATE)
    mark_complete(marker, {"fingerprint": fingerprint, "settings": settings}, indent=2)
    return directory


def _write_manifest(path: Path, plan: Sequence[MixtureSpec]) -> None:
    n_src = len(plan[0].voices) if plan else 0
    header = ["name"]
    for k in range(1, n_src + 1):
        header += [f"s{k}_voice", f"s{k}_gain_db", f"s{k}_text"]
    rows = []
    for spec in plan:
        row = [spec.name]
        for voice, gain, text in zip(spec.voices, spec.gains_db, spec.texts):
            row += [voice.name, gain, text]
        rows.append(row)
    write_csv_atomic(path, header, rows)


def generate_corpus(
    root, n_srcs: Sequence[int] = (2,), sizes: Dict[str, int] = None, seed: int = 0, workers: int = None
) -> List[Path]:
    """Generate (or reuse) every split for every number of speakers; returns the split folders."""
    sizes = sizes or {"tr": 2000, "cv": 200, "tt": 200}
    unknown = set(sizes) - set(SPLITS)
    if unknown:
        raise ValueError(f"Unknown splits {sorted(unknown)}: expected a subset of {SPLITS}.")
    return [
        generate_split(root, n_src, split, sizes[split], seed, workers)
        for n_src in n_srcs
        for split in SPLITS
        if split in sizes
    ]
