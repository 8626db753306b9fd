"""Libri2Mix / Libri3Mix from LibriSpeech (CC BY 4.0) and WHAM! noise (CC BY-NC 4.0), from the official metadata.

The official LibriMix metadata (JorisCos/LibriMix, ``metadata/Libri{n}Mix/libri{n}mix_{dev-clean,
test-clean,train-clean-100,train-clean-360}.csv``; the ``*_info.csv`` beside them hold speakers' sexes and
are not read) lists, per mixture, ``mixture_ID, source_k_path, source_k_gain`` (k = 1..n) and ``noise_path,
noise_gain``: paths relative to the LibriSpeech and WHAM! noise roots, linear gains. A mixture is made
as the official ``create_librimix_from_metadata.py`` makes it: each file read (the noise up to the
longest source's length, looped with a cross-fade when shorter), scaled by its gain, resampled to the rate
(8 or 16 kHz) with scipy's ``resample_poly``, cut to the shortest (``min``) or zero-padded to the
longest (``max``), then ``mix_clean`` = sum of sources, ``mix_both`` = that plus the noise,
``mix_single`` = source 1 plus the noise. Sources are rounded to 16 bits first, so that in the
written files the clean mixture is exactly the sum of its sources.

Output, the official layout, which Asteroid's ``LibriMix`` dataset reads::

    OUT/Libri{n}Mix/wav{8k,16k}/{min,max}/{dev,test,train-100,train-360}/{mix_clean,mix_both,mix_single,s1..sn,noise}/ID.wav
    OUT/Libri{n}Mix/wav{8k,16k}/{min,max}/metadata/{subset}/mixture_{subset}_mix_{clean,both,single}.csv

where each subset folder is named as the official generator names it: the metadata file's name without
``libri{n}mix_``, ``-clean`` and ``.csv``.

The CSVs are those of the official script, one folder per subset (the official script writes them
side by side; Asteroid's ``LibriMix`` takes a folder and picks its file by task, so each subset has its own).
"""
import csv
import shutil
import tarfile
import zipfile
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from ..io import DONE, atomic_path, completed, mark_complete, write_csv_atomic, write_wav_atomic
from .external import download
from .parallel import run_parallel

OPENSLR = "https://www.openslr.org/resources/12"
LIBRIMIX_REPO_ZIP = "https://github.com/JorisCos/LibriMix/archive/refs/heads/master.zip"  # holds metadata/Libri{2,3}Mix
# md5 of each LibriSpeech archive, as openslr publishes them.
LIBRISPEECH_MD5 = {
    "train-clean-100": "2a93770f6d5c6c964bc36631d331a522",
    "train-clean-360": "c0e676e450a7ff2f54aeade5171606fa",
    "dev-clean": "42e2234ba48799c1f50f24a7926300a1",
    "test-clean": "32fa31d27d2e1cad72775fee3f4849a9",
}
LIBRISPEECH_RATE = 16000
# LibriMix's subset names: the LibriSpeech subset each is drawn from.
SUBSETS = {"train-360": "train-clean-360", "train-100": "train-clean-100", "dev": "dev-clean", "test": "test-clean"}
MODES = ("min", "max")
TASKS = ("clean", "both", "single")
RATES = (8000, 16000)


def check_librispeech(root, subsets: Sequence[str]) -> Path:
    """``root`` if it is a LibriSpeech tree holding ``subsets`` (``<subset>/<speaker>/<chapter>/*.flac``), else a clear error."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"No LibriSpeech folder at {root}: expected the folder holding {', '.join(subsets)}/.")
    for subset in subsets:
        folder = root / subset
        if not folder.is_dir():
            raise FileNotFoundError(f"{root} has no {subset}/: expected LibriSpeech/{subset}/<speaker>/<chapter>/*.flac "
                                    f"(download it, or point --librispeech_dir at the folder that holds it).")
        first = next(folder.glob("*/*/*.flac"), None)
        if first is None:
            raise FileNotFoundError(f"{folder} has no <speaker>/<chapter>/*.flac: not LibriSpeech's layout "
                                    "(a flat folder of files, or the archive not unpacked?).")
    return root


def fetch_librispeech(work_dir, subsets: Sequence[str], base_url: str = OPENSLR) -> Path:
    """Download (resumable, md5-checked) and unpack each LibriSpeech subset under ``work_dir/LibriSpeech``."""
    work_dir = Path(work_dir)
    root = work_dir / "LibriSpeech"
    for subset in subsets:
        marker = root / subset / DONE
        if completed(marker) is not None:
            continue
        archive = download([f"{base_url}/{subset}.tar.gz"], work_dir / "downloads" / f"{subset}.tar.gz", LIBRISPEECH_MD5.get(subset))
        with tarfile.open(archive) as tar:  # the archives hold LibriSpeech/<subset>/...
            # "data": no absolute paths, links out of the folder or device files (Python >= 3.11.4).
            tar.extractall(work_dir, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
        mark_complete(marker, {"archive": str(archive)})
    return check_librispeech(root, subsets)


def metadata_file(n_src: int, subset: str) -> str:
    """The official metadata file of a LibriMix subset: ``libri2mix_dev-clean.csv`` for ("dev", 2)."""
    return f"libri{n_src}mix_{SUBSETS[subset]}.csv"


def find_metadata_dir(path, n_src: int) -> Path:
    """The ``metadata/Libri{n}Mix`` folder of a LibriMix checkout, given the checkout, its ``metadata/``
    or that folder itself; else an error saying what was looked for and what was there."""
    path = Path(path)
    candidates = [path, path / f"Libri{n_src}Mix", path / "metadata" / f"Libri{n_src}Mix"]
    for folder in candidates:
        if next(folder.glob(f"libri{n_src}mix_*.csv"), None) is not None:
            return folder
    found = sorted(p.name for p in path.iterdir())[:8] if path.is_dir() else []
    raise FileNotFoundError(
        f"No Libri{n_src}Mix metadata in {path}: expected the LibriMix checkout, its metadata/ or "
        f"metadata/Libri{n_src}Mix/ (holding {metadata_file(n_src, 'dev')}, ...)"
        + (f"; found {', '.join(found)}." if found else ("; the folder is empty." if path.is_dir() else "; it does not exist.")))


def fetch_librimix_metadata(work_dir, n_src: int, source: Optional[str] = None) -> Path:
    """The official ``metadata/Libri{n}Mix`` folder: found in ``source`` if it is a folder (the LibriMix
    checkout, its ``metadata/`` or that folder), else taken from the LibriMix repository's zip (``source``:
    the zip or its URL; default: the repository on GitHub)."""
    if source and Path(source).is_dir():
        return find_metadata_dir(source, n_src)
    folder = Path(work_dir) / "librimix_metadata" / f"Libri{n_src}Mix"
    if not list(folder.glob("*.csv")):
        archive = Path(source) if source and Path(source).is_file() else download(
            [source or LIBRIMIX_REPO_ZIP], Path(work_dir) / "downloads" / "LibriMix.zip")
        with zipfile.ZipFile(archive) as zf, atomic_path(folder) as partial:  # a folder of CSVs is complete
            # As the official generator: the *_info.csv files (speakers' sexes) are not mixture lists.
            members = [m for m in zf.namelist() if f"metadata/Libri{n_src}Mix/" in m and m.endswith(".csv") and "info" not in Path(m).name]
            if not members:
                raise FileNotFoundError(f"{archive} has no metadata/Libri{n_src}Mix/*.csv: not the LibriMix repository.")
            shutil.rmtree(folder, ignore_errors=True)  # an empty one, left by hand
            partial.mkdir()
            for member in members:
                with zf.open(member) as src, open(partial / Path(member).name, "wb") as dst:
                    shutil.copyfileobj(src, dst)
    return folder


def read_metadata(path, n_src: int, librispeech_dir, wham_dir=None) -> List[dict]:
    """The rows of an official metadata CSV, checked: its columns, and that every file it names exists."""
    path = Path(path)
    if not path.is_file():
        stem = path.name.split("-")[0].removesuffix(".csv")  # libri2mix_dev for libri2mix_dev-clean.csv
        similar = sorted(p.name for p in path.parent.glob(f"{stem}*")) if path.parent.is_dir() else []
        raise FileNotFoundError(f"No LibriMix metadata at {path}: "
                                + (f"found {', '.join(similar)}, expected {path.name}." if similar else
                                   f"expected metadata/Libri{n_src}Mix/{path.name} of the LibriMix repository."))
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    columns = ["mixture_ID"] + [f"source_{k}_{c}" for k in range(1, n_src + 1) for c in ("path", "gain")]
    columns += ["noise_path", "noise_gain"] if wham_dir is not None else []
    missing = [c for c in columns if not rows or c not in rows[0]]
    if missing:
        raise ValueError(f"{path} is not LibriMix metadata for {n_src} speakers: missing columns {missing}.")
    names = [row["mixture_ID"] for row in rows]
    if len(set(names)) != len(names):
        raise ValueError(f"{path} names a mixture_ID twice: expected one row per mixture.")
    roots = {"source": Path(librispeech_dir), "noise": Path(wham_dir) if wham_dir is not None else None}
    for row in rows:
        for key in [c for c in columns if c.endswith("_path")]:
            file = roots["noise" if key == "noise_path" else "source"] / row[key]
            if not file.is_file():
                raise FileNotFoundError(f"{path}, mixture {row['mixture_ID']}: {file} does not exist "
                                        f"(the {key} under {'--wham_dir' if key == 'noise_path' else '--librispeech_dir'}).")
    return rows


def _read(path: Path, gain: float, length: Optional[int] = None) -> np.ndarray:
    """A LibriSpeech or WHAM! file (16 kHz; the first channel) times its gain; with ``length``, cut to
    it or looped up to it (the noise)."""
    audio, file_rate = sf.read(str(path), dtype="float32", always_2d=True, frames=-1 if length is None else length)
    if file_rate != LIBRISPEECH_RATE:
        raise ValueError(f"{path} is at {file_rate} Hz: LibriSpeech and WHAM! noise are 16 kHz.")
    audio = audio[:, 0] if length is None or len(audio) >= length else extend_noise(audio[:, 0], length)
    return audio * gain


def extend_noise(noise: np.ndarray, length: int) -> np.ndarray:
    """Repeat a noise shorter than the longest source until it is ``length`` long, as the official
    generator does: each repeat fades in over the last half second of what precedes it (a Hann window
    of one second, split into its rising and falling halves)."""
    half = LIBRISPEECH_RATE // 2 + 1
    window = np.hanning(LIBRISPEECH_RATE + 1)
    rising, falling = window[:half], window[half - 1 :: -1]
    if len(noise) <= half:
        raise ValueError(f"A WHAM! noise of {len(noise)} samples is too short to loop (more than {half} needed).")
    extended = noise
    while len(extended) < length:
        overlap = extended[-half:] * falling + noise[:half] * rising
        extended = np.concatenate((extended[:-half], overlap, noise[half:]))
    return extended[:length]


def _fit(signals: List[np.ndarray], mode: str) -> List[np.ndarray]:
    if mode == "min":
        length = min(len(s) for s in signals)
        return [s[:length] for s in signals]
    length = max(len(s) for s in signals)
    return [np.pad(s, (0, length - len(s))) for s in signals]


def _quantised(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 32768), -32768, 32767) / 32768


def _mix_one(job) -> None:
    row, n_src, librispeech_dir, wham_dir, folder, rate, mode, tasks = job
    name = f"{row['mixture_ID']}.wav"
    if all((folder / f"mix_{task}" / name).is_file() for task in tasks):
        return  # written by an earlier, interrupted run
    signals = [_read(Path(librispeech_dir) / row[f"source_{k}_path"], float(row[f"source_{k}_gain"])) for k in range(1, n_src + 1)]
    if wham_dir is not None:  # as long as the longest source: cut, or looped when shorter
        signals.append(_read(Path(wham_dir) / row["noise_path"], float(row["noise_gain"]), max(len(s) for s in signals)))
    if rate != LIBRISPEECH_RATE:  # after the gains, as the official script resamples
        signals = [resample_poly(s, rate, LIBRISPEECH_RATE) for s in signals]
    signals = [_quantised(s) for s in _fit(signals, mode)]
    sources, noise = signals[:n_src], (signals[n_src] if wham_dir is not None else None)
    for k, source in enumerate(sources, start=1):
        write_wav_atomic(folder / f"s{k}" / name, source, rate)
    if noise is not None:
        write_wav_atomic(folder / "noise" / name, noise, rate)
    mixtures = {"clean": np.sum(sources, axis=0)}
    if noise is not None:
        mixtures.update(both=mixtures["clean"] + noise, single=sources[0] + noise)
    for task in tasks:  # last: the mixtures mean "done"
        write_wav_atomic(folder / f"mix_{task}" / name, mixtures[task], rate)


def librimix_root(out_dir, n_src: int, sample_rate: int, mode: str) -> Path:
    return Path(out_dir) / f"Libri{n_src}Mix" / f"wav{sample_rate // 1000}k" / mode


def create_librimix(
    librispeech_dir, metadata_dir, out_dir, n_src: int, sample_rate: int = 8000, mode: str = "min",
    subsets: Sequence[str] = ("dev", "test", "train-100"), wham_dir=None, workers: Optional[int] = None,
) -> Dict[str, Path]:
    """Write the ``subsets`` of Libri{n}Mix from the official metadata in ``metadata_dir`` (the LibriMix
    checkout, its ``metadata/`` or ``metadata/Libri{n}Mix``, holding ``libri{n}mix_{dev-clean,test-clean,
    train-clean-100,train-clean-360}.csv``), and their CSVs for Asteroid's
    ``LibriMix``; returns ``{subset: its metadata CSV of the clean task}``. Without ``wham_dir`` only
    the clean task is made. A finished subset is kept, a half-written one finished."""
    if sample_rate not in RATES or mode not in MODES:
        raise ValueError(f"LibriMix comes at {RATES} Hz in modes {MODES}; got {sample_rate} Hz, {mode!r}.")
    unknown = [s for s in subsets if s not in SUBSETS]
    if unknown:
        raise ValueError(f"Unknown LibriMix subsets {unknown}: expected some of {list(SUBSETS)}.")
    check_librispeech(librispeech_dir, [SUBSETS[s] for s in subsets])
    metadata_dir = find_metadata_dir(metadata_dir, n_src)
    root = librimix_root(out_dir, n_src, sample_rate, mode)
    tasks = TASKS if wham_dir is not None else ("clean",)
    settings = {"n_src": n_src, "sample_rate": sample_rate, "mode": mode, "tasks": list(tasks)}
    out = {}
    for subset in subsets:
        folder = root / subset
        csv_path = metadata_dir / metadata_file(n_src, subset)
        if completed(folder / DONE, "settings", settings) is None:
            rows = read_metadata(csv_path, n_src, librispeech_dir, wham_dir)
            jobs = [(row, n_src, str(librispeech_dir), wham_dir and str(wham_dir), folder, sample_rate, mode, tasks) for row in rows]
            run_parallel(_mix_one, jobs, workers, f"Libri{n_src}Mix/{subset}")
            _write_asteroid_metadata(rows, folder, root / "metadata" / subset, subset, n_src, tasks)
            mark_complete(folder / DONE, {"settings": settings, "mixtures": len(rows), "metadata": str(csv_path)})
        out[subset] = root / "metadata" / subset / f"mixture_{subset}_mix_clean.csv"
    return out


def _write_asteroid_metadata(rows, folder: Path, metadata_dir: Path, subset: str, n_src: int, tasks) -> None:
    """``mixture_{subset}_mix_{task}.csv`` as the official script writes them (what Asteroid's ``LibriMix`` reads)."""
    # Every task's mixture of a row has the same length: read it once.
    lengths = [sf.info(str(folder / "mix_clean" / f"{row['mixture_ID']}.wav")).frames for row in rows]
    for task in tasks:
        n_sources = 1 if task == "single" else n_src
        header = ["mixture_ID", "mixture_path"] + [f"source_{k}_path" for k in range(1, n_sources + 1)]
        header += ["noise_path"] if task != "clean" else []
        lines = []
        for row, length in zip(rows, lengths):
            name = f"{row['mixture_ID']}.wav"
            mixture = folder / f"mix_{task}" / name
            line = [row["mixture_ID"], str(mixture.resolve())] + [str((folder / f"s{k}" / name).resolve()) for k in range(1, n_sources + 1)]
            line += [str((folder / "noise" / name).resolve())] if task != "clean" else []
            lines.append(line + [length])
        write_csv_atomic(metadata_dir / f"mixture_{subset}_mix_{task}.csv", header + ["length"], lines)
