"""Fixed validation and test sets from a folder of speaker folders, in the wsj0-mix layout: what
training with dynamic mixing (:mod:`asteroid_deepmask.data.dynamic_mix`) validates and tests on, read unchanged by
``evaluate`` and Asteroid's ``Wsj0mixDataset``."""
import logging
from pathlib import Path
from typing import Sequence

import numpy as np
from tqdm import tqdm

from ..io import completed, mark_complete, write_csv_atomic, write_wav_atomic
from ..mixing import draw_gains_db, mix_sources
from ..speakers import CACHE_FORMAT, SpeakerBank

log = logging.getLogger(__name__)


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

    def refuse(previous: dict) -> str:
        return f"{out_dir} holds mixtures made with other settings ({previous.get('settings')}); remove it or choose another folder."

    if completed(marker, "settings", settings, refuse=refuse) is not None:
        log.info("%s is complete (%d mixtures): kept", out_dir, n_mixtures)
        return out_dir
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
    write_csv_atomic(out_dir / "mixtures.csv", ["name"] + [c for k in range(1, n_src + 1) for c in (f"s{k}_speaker", f"s{k}_gain_db")], rows)
    mark_complete(marker, {"settings": settings, "speakers": sorted({r for row in rows for r in row[1::2]})}, indent=2)
    return out_dir
