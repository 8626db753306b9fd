"""wsj0-2mix / wsj0-3mix from the converted WSJ0 tree (:mod:`.wsj0`): the standard mixture lists, mixing.

The mixing follows MERL's ``create_wav_{2,3}_speakers.m``: each source is resampled to 8 kHz,
normalised to an active level of 0 dB (ITU-T P.56, :func:`~asteroid_deepmask.data.levels.p56_active_power`), scaled by
its listed gain in dB, cut to the shortest ("min"), summed, and everything is scaled so that the
loudest of mixture and sources peaks at 0.9 (:func:`~asteroid_deepmask.data.mixing.mix_sources` with
:data:`MERL_MIXING`). Files are 16-bit wavs named ``{utt1}_{gain1}_{utt2}_{gain2}[...].wav``
under ``{n}speakers/wav8k/min/{tr,cv,tt}/{mix,s1,s2[,s3]}``.
"""
import zipfile
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import soundfile as sf
from scipy.signal import resample_poly

from ..io import DONE, atomic_path, completed, mark_complete, write_wav_atomic
from ..layout import SPLITS, wsj0mix_root
from ..mixing import mix_sources
from .external import download
from .parallel import run_parallel

MIXTURE_LISTS_URL = "https://www.merl.com/demos/deep-clustering/create-speaker-mixtures.zip"
SAMPLE_RATE = 8000
# MERL's scripts: P.56 level of each whole utterance at 0 dB, always rescaled to a 0.9 peak, float
# (the wav writer rounds to 16 bits).
MERL_MIXING = dict(method="p56", level_db=0.0, measure_whole=True, rescale="always", quantise=False)


def fetch_mixture_lists(out_dir, n_src: int, source: str = None) -> Dict[str, Path]:
    """The standard ``mix_{n}_spk_{tr,cv,tt}.txt`` lists, from a folder, a zip file or a URL of the zip."""
    out_dir, source = Path(out_dir), source or MIXTURE_LISTS_URL
    names = {split: f"mix_{n_src}_spk_{split}.txt" for split in SPLITS}
    if Path(source).is_dir():
        found = {split: Path(source) / name for split, name in names.items()}
    else:
        out_dir.mkdir(parents=True, exist_ok=True)
        archive = Path(source) if Path(source).is_file() else download([source], out_dir / Path(source).name)
        with zipfile.ZipFile(archive) as zf:
            members = {Path(m).name: m for m in zf.namelist()}
            for name in names.values():
                if name in members:
                    with atomic_path(out_dir / name) as tmp:
                        tmp.write_bytes(zf.read(members[name]))
        found = {split: out_dir / name for split, name in names.items()}
    missing = [str(p) for p in found.values() if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"Mixture lists not found: {', '.join(missing)} (expected MERL's {', '.join(names.values())}).")
    return found


def read_mixture_list(path) -> List[List[Tuple[str, str]]]:
    """Lines of ``path1 gain1 path2 gain2 [...]`` as [(path, gain text), ...] per mixture."""
    mixtures = []
    for number, line in enumerate(Path(path).read_text().splitlines(), start=1):
        tokens = line.split()
        if not tokens:
            continue
        if len(tokens) % 2:
            raise ValueError(f"{path}:{number}: expected 'path gain' pairs, got {line!r}.")
        pairs = list(zip(tokens[0::2], tokens[1::2]))
        for _, gain in pairs:
            float(gain)
        mixtures.append(pairs)
    return mixtures


def mixture_name(pairs: Sequence[Tuple[str, str]]) -> str:
    return "_".join(f"{Path(path).stem}_{gain}" for path, gain in pairs) + ".wav"


def _mix_one(job) -> None:
    wav_root, split_dir, pairs = job
    name = mixture_name(pairs)
    if (split_dir / "mix" / name).is_file():  # the mixture is written last
        return
    sources, rates = [], set()
    for path, _ in pairs:
        data, rate = sf.read(str(resolve_list_path(wav_root, path)), dtype="float64")
        sources.append(data)
        rates.add(rate)
    rate = rates.pop()
    sources = [resample_poly(source, SAMPLE_RATE, rate) if rate != SAMPLE_RATE else source for source in sources]
    mixture, scaled = mix_sources(sources, [float(gain) for _, gain in pairs], SAMPLE_RATE, **MERL_MIXING)
    for k, source in enumerate(scaled, start=1):
        write_wav_atomic(split_dir / f"s{k}" / name, source, SAMPLE_RATE)
    write_wav_atomic(split_dir / "mix" / name, mixture, SAMPLE_RATE)


def resolve_list_path(wav_root, list_path: str) -> Path:
    """A list entry (``wsj0/si_tr_s/01t/01to030v.wav``) in the converted tree; a clear error if absent."""
    root = Path(wav_root)
    for candidate in (root / list_path, root / Path(*Path(list_path).parts[1:])):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"{list_path} of the mixture list is not under {root}: expected the converted WSJ0 tree "
        f"({root}/{list_path}); is --wsj0_root the full LDC93S6A copy?"
    )


def create_wsj0mix(wav_root, lists, out_dir, n_src: int, workers: int = None) -> Path:
    """Write ``out_dir/{n}speakers/wav8k/min/{tr,cv,tt}``; a finished split is kept, a half-written one finished.

    ``lists``: ``{split: path}``, or where to get MERL's lists (folder, zip or URL; None: download),
    fetched only when a split is left to make.
    """
    root = wsj0mix_root(out_dir, n_src)
    todo = [split for split in SPLITS if completed(root / split / DONE) is None]
    if todo and not isinstance(lists, dict):
        lists = fetch_mixture_lists(Path(out_dir) / "lists", n_src, lists)
    for split in todo:
        split_dir = root / split
        mixtures = read_mixture_list(lists[split])
        wrong = [m for m in mixtures if len(m) != n_src]
        if wrong:
            raise ValueError(f"{lists[split]} has mixtures of {len(wrong[0])} sources; expected {n_src}.")
        run_parallel(_mix_one, [(wav_root, split_dir, pairs) for pairs in mixtures], workers, f"{n_src}speakers/{split}")
        mark_complete(split_dir / DONE, {"mixtures": len(mixtures), "list": str(lists[split])})
    return root
