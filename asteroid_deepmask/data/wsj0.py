"""WSJ0 to wsj0-2mix / wsj0-3mix, in Python: sphere conversion, the standard mixture lists, mixing.

The mixing follows MERL's ``create_wav_{2,3}_speakers.m``: each source is resampled to 8 kHz,
normalised to an active level of 0 dB (ITU-T P.56, :mod:`.p56`), scaled by its listed gain in
dB, cut to the shortest ("min"), summed, and everything is scaled so that the loudest of mixture
and sources peaks at 0.9. Files are 16-bit wavs named ``{utt1}_{gain1}_{utt2}_{gain2}[...].wav``
under ``{n}speakers/wav8k/min/{tr,cv,tt}/{mix,s1,s2[,s3]}``.
"""
import io
import json
import logging
import os
import shutil
import tarfile
import tempfile
import urllib.request
import zipfile
from multiprocessing import Pool
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly
from tqdm import tqdm

from .external import run_program
from .p56 import active_level
from .wavio import write_wav_atomic

log = logging.getLogger(__name__)

SPLITS = ("tr", "cv", "tt")
# WSJ0 folders the standard lists draw from (training/validation: si_tr_s; test: si_dt_05, si_et_05).
WSJ0_FOLDERS = ("si_tr_s", "si_dt_05", "si_et_05")
MIXTURE_LISTS_URL = "https://www.merl.com/demos/deep-clustering/create-speaker-mixtures.zip"
SPH2PIPE_URLS = (
    "https://www.openslr.org/resources/3/sph2pipe_v2.5.tar.gz",
    "https://github.com/burrmill/sph2pipe/archive/2.5.tar.gz",
)
SAMPLE_RATE = 8000
PEAK = 0.9
DONE = "done.json"  # written last in a finished folder: a folder without it is redone


# ---------------------------------------------------------------------------------------------
# Downloads
# ---------------------------------------------------------------------------------------------
def download(urls: Sequence[str], target: Path) -> Path:
    """Fetch the first of ``urls`` that answers to ``target`` (atomically); keep an existing file."""
    target = Path(target)
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    errors = []
    for url in urls:
        partial = target.with_name(target.name + ".part")
        try:
            log.info("Downloading %s", url)
            with urllib.request.urlopen(url, timeout=60) as response, open(partial, "wb") as out:
                shutil.copyfileobj(response, out)
            os.replace(partial, target)
            return target
        except OSError as error:  # URLError and HTTPError are OSErrors
            partial.unlink(missing_ok=True)
            errors.append(f"{url}: {error}")
    raise RuntimeError(f"Could not download {target.name}: " + "; ".join(errors))


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
                    (out_dir / name).write_bytes(zf.read(members[name]))
        found = {split: out_dir / name for split, name in names.items()}
    missing = [str(p) for p in found.values() if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"Mixture lists not found: {', '.join(missing)} (expected MERL's {', '.join(names.values())}).")
    return found


def build_sph2pipe(tools_dir, urls: Sequence[str] = SPH2PIPE_URLS) -> Path:
    """Download and compile sph2pipe (WSJ0 ships shorten-compressed SPHERE) into ``tools_dir``."""
    tools_dir = Path(tools_dir)
    binary = tools_dir / "sph2pipe"
    if binary.is_file():
        return binary
    if shutil.which("gcc") is None and shutil.which("cc") is None:
        raise RuntimeError("Building sph2pipe needs a C compiler (gcc); or install sph2pipe and put it on PATH.")
    archive = download(urls, tools_dir / "sph2pipe.tar.gz")
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(archive) as tf:
            tf.extractall(tmp, filter="data")
        sources = sorted(Path(tmp).rglob("*.c"))
        if not sources:
            raise RuntimeError(f"{archive} holds no C sources: not a sph2pipe archive.")
        compiler = shutil.which("gcc") or shutil.which("cc")
        run_program([compiler, "-O2", "-o", str(binary), *map(str, sources), "-lm"], f"Building sph2pipe with {compiler}",
                    "Install a working C compiler (gcc), or install sph2pipe and put it on PATH.", cwd=sources[0].parent)
    return binary


# ---------------------------------------------------------------------------------------------
# SPHERE to wav
# ---------------------------------------------------------------------------------------------
def sphere_header(path) -> Dict[str, str]:
    """The fields of a NIST SPHERE header; a clear error for anything else."""
    with open(path, "rb") as f:
        head = f.read(1024)
    if not head.startswith(b"NIST_1A"):
        raise ValueError(f"{path} is not a NIST SPHERE file (expected the 'NIST_1A' header of WSJ0's .wv1 files).")
    fields = {}
    for line in head.decode("ascii", "replace").splitlines()[2:]:
        if line.strip() == "end_head":
            break
        parts = line.split(None, 2)
        if len(parts) == 3:
            fields[parts[0]] = parts[2].strip()
    return fields


def read_sphere(path, sph2pipe: Path = None) -> Tuple[np.ndarray, int]:
    """Samples (float64 in [-1, 1]) and rate of a SPHERE file, shorten-compressed ones through sph2pipe."""
    fields = sphere_header(path)
    if "shorten" in fields.get("sample_coding", ""):
        if sph2pipe is None:
            raise RuntimeError(f"{path} is shorten-compressed: sph2pipe is needed (the recipe builds it in stage 0).")
        wav_bytes = run_program([str(sph2pipe), "-f", "wav", str(path)], f"sph2pipe on {path}",
                                "The file may be damaged: check it against its WSJ0 disk.", capture_stdout=True).stdout
        data, rate = sf.read(io.BytesIO(wav_bytes), dtype="float64")
    else:
        data, rate = sf.read(str(path), dtype="float64")  # libsndfile reads plain SPHERE
    return data, rate


def wsj0_utterances(wsj0_root) -> List[Tuple[Path, Path]]:
    """(``.wv1`` file, its path relative to the merged ``wsj0/`` tree, as ``.wav``) for the folders the lists use."""
    root = Path(wsj0_root)
    if not root.is_dir():
        raise FileNotFoundError(f"--wsj0_root {root} does not exist: expected the WSJ0 (LDC93S6A) disks, e.g. {root}/11-1.1/wsj0/si_tr_s/01t/01to030v.wv1.")
    pairs = []
    for wv1 in root.rglob("*.wv1"):
        parts = wv1.parts
        if "wsj0" not in parts:
            continue
        relative = Path(*parts[parts.index("wsj0") :]).with_suffix(".wav")
        if len(relative.parts) > 1 and relative.parts[1] in WSJ0_FOLDERS:
            pairs.append((wv1, relative))
    if not pairs:
        raise FileNotFoundError(
            f"No WSJ0 utterances under {root}: expected .wv1 files in {'/'.join(WSJ0_FOLDERS)} folders, "
            f"e.g. {root}/11-1.1/wsj0/si_tr_s/01t/01to030v.wv1 (LDC93S6A disk layout)."
        )
    return sorted(pairs, key=lambda pair: str(pair[1]))


def _convert_one(job) -> None:
    wv1, target, sph2pipe = job
    if target.is_file():
        return
    data, rate = read_sphere(wv1, sph2pipe)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.stem + ".part.wav")
    sf.write(str(partial), data, rate, subtype="PCM_16")
    os.replace(partial, target)


def convert_wsj0(wsj0_root, out_dir, sph2pipe: Path = None, workers: int = None) -> Path:
    """Write every utterance the lists use as ``out_dir/wsj0/{folder}/{speaker}/{utt}.wav``.

    Kept when complete (``done.json``); a run that died half-way finishes what is missing.
    """
    out_dir = Path(out_dir)
    if (out_dir / DONE).is_file():
        return out_dir
    pairs = wsj0_utterances(wsj0_root)
    jobs = [(wv1, out_dir / relative, sph2pipe) for wv1, relative in pairs]
    _parallel(_convert_one, jobs, workers, "sphere to wav")
    (out_dir / DONE).write_text(json.dumps({"utterances": len(jobs), "wsj0_root": str(wsj0_root)}))
    return out_dir


def converted_tree(root) -> Path:
    """``root`` if it already is a converted wav tree (``wsj0/si_tr_s/*/*.wav``), else None."""
    root = Path(root)
    return root if next((root / "wsj0" / "si_tr_s").glob("*/*.wav"), None) is not None else None


def convert_wsj0_tree(wsj0_root, out_dir, tools_dir=None, workers: int = None) -> Path:
    """The converted wav tree of ``wsj0_root``: itself if already converted, else ``out_dir``,
    building sph2pipe first when the files are shorten-compressed and none is on PATH."""
    if converted_tree(wsj0_root) is not None:
        log.info("%s is already a wav tree: used as it is", wsj0_root)
        return Path(wsj0_root)
    if (Path(out_dir) / DONE).is_file():
        return Path(out_dir)
    first_wv1 = wsj0_utterances(wsj0_root)[0][0]
    sph2pipe = None
    if "shorten" in sphere_header(first_wv1).get("sample_coding", ""):
        on_path = shutil.which("sph2pipe")
        sph2pipe = Path(on_path) if on_path else build_sph2pipe(tools_dir or Path(out_dir).parent / "tools")
    return convert_wsj0(wsj0_root, out_dir, sph2pipe, workers)


# ---------------------------------------------------------------------------------------------
# Mixing
# ---------------------------------------------------------------------------------------------
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


def mix_wsj0(sources: Sequence[np.ndarray], source_rate: int, gains_db: Sequence[float]) -> Tuple[np.ndarray, np.ndarray]:
    """(mixture, scaled sources) at 8 kHz, as MERL's scripts make them, in float64."""
    scaled = []
    for source, gain_db in zip(sources, gains_db):
        source = resample_poly(source, SAMPLE_RATE, source_rate) if source_rate != SAMPLE_RATE else source
        scaled.append(source / np.sqrt(active_level(source, SAMPLE_RATE)) * 10 ** (gain_db / 20))
    length = min(len(s) for s in scaled)
    scaled = np.stack([s[:length] for s in scaled])
    mixture = scaled.sum(axis=0)
    scale = PEAK / max(np.abs(mixture).max(), np.abs(scaled).max())
    return mixture * scale, scaled * scale


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
    mixture, scaled = mix_wsj0(sources, rates.pop(), [float(gain) for _, gain in pairs])
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
    root = Path(out_dir) / f"{n_src}speakers" / "wav8k" / "min"
    todo = [split for split in SPLITS if not (root / split / DONE).is_file()]
    if todo and not isinstance(lists, dict):
        lists = fetch_mixture_lists(Path(out_dir) / "lists", n_src, lists)
    for split in todo:
        split_dir = root / split
        mixtures = read_mixture_list(lists[split])
        wrong = [m for m in mixtures if len(m) != n_src]
        if wrong:
            raise ValueError(f"{lists[split]} has mixtures of {len(wrong[0])} sources; expected {n_src}.")
        _parallel(_mix_one, [(wav_root, split_dir, pairs) for pairs in mixtures], workers, f"{n_src}speakers/{split}")
        (split_dir / DONE).write_text(json.dumps({"mixtures": len(mixtures), "list": str(lists[split])}))
    return root


def _parallel(function, jobs, workers, description) -> None:
    workers = workers or os.cpu_count() or 1
    if workers == 1:
        for job in tqdm(jobs, desc=description, unit="file"):
            function(job)
        return
    with Pool(workers) as pool:
        for _ in tqdm(pool.imap_unordered(function, jobs, chunksize=8), total=len(jobs), desc=description, unit="file"):
            pass
