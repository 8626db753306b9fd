"""WHAMR! (noisy, reverberant wsj0-2mix): creation with the official scripts, and the json
metadata that :class:`~asteroid_deepmask.data.datasets.WhamrDataset` (reverberant targets, as in the paper) reads.
"""
import logging
import shutil
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import soundfile as sf

from ..io import DONE, completed, mark_complete, write_json_atomic
from ..layout import SPLITS
from .external import download, run_program

log = logging.getLogger(__name__)

WHAMR_SCRIPTS_URL = "https://storage.googleapis.com/whisper-public/whamr_scripts.tar.gz"
WHAM_NOISE_URL = "https://storage.googleapis.com/whisper-public/wham_noise.zip"
SCRIPT = "create_wham_from_scratch.py"


def fetch_whamr_scripts(work_dir, source: str = None) -> Path:
    """The folder holding WHAMR!'s ``create_wham_from_scratch.py``: ``source`` if it is one, else
    extracted from ``source`` (a .tar.gz or its URL; default: the official URL)."""
    source = source or WHAMR_SCRIPTS_URL
    if Path(source).is_dir():
        folder = Path(source)
    else:
        work_dir = Path(work_dir)
        archive = Path(source) if Path(source).is_file() else download([source], work_dir / "whamr_scripts.tar.gz")
        folder = work_dir / "whamr_scripts"
        if not (folder / SCRIPT).is_file():
            with tempfile.TemporaryDirectory(dir=work_dir) as tmp, tarfile.open(archive) as tf:
                tf.extractall(tmp, filter="data")
                found = next(Path(tmp).rglob(SCRIPT), None)
                if found is None:
                    raise FileNotFoundError(f"{archive} has no {SCRIPT}: not the WHAMR! scripts archive.")
                shutil.rmtree(folder, ignore_errors=True)
                shutil.move(str(found.parent), folder)
    if not (folder / SCRIPT).is_file():
        raise FileNotFoundError(f"{folder} has no {SCRIPT}: expected the WHAMR! scripts ({WHAMR_SCRIPTS_URL}).")
    return folder


def fetch_wham_noise(work_dir, source: str = None) -> Path:
    """The WHAM! noise folder (holding ``tr/``, ``cv/``, ``tt/``): ``source`` if it is one, else
    unzipped from ``source`` (the zip or its URL; default: the official URL, 17 GB)."""
    source = source or WHAM_NOISE_URL
    if Path(source).is_dir():
        folder = Path(source)
    else:
        work_dir = Path(work_dir)
        folder = work_dir / "wham_noise"
        if completed(folder / DONE) is None:
            archive = Path(source) if Path(source).is_file() else download([source], work_dir / "wham_noise.zip")
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(work_dir)
            mark_complete(folder / DONE, {"from": str(source)})
    missing = [split for split in SPLITS if not (folder / split).is_dir()]
    if missing:
        raise FileNotFoundError(f"{folder} is not the WHAM! noise folder: expected {', '.join(missing)}/ in it ({WHAM_NOISE_URL}).")
    return folder


def create_whamr(scripts_dir, wsj0_wav_root, noise_dir, out_dir, python: str = None) -> Path:
    """Run the official WHAMR! script (it needs pyroomacoustics); kept when finished, redone if it died."""
    out_dir = Path(out_dir)
    if completed(out_dir / DONE) is not None:
        return out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    command = [
        python or sys.executable, SCRIPT, "--wsj0-root", str(Path(wsj0_wav_root).resolve()),
        "--wham-noise-root", str(Path(noise_dir).resolve()), "--output-dir", str(out_dir.resolve()),
    ]
    log.info("Running %s in %s", " ".join(command), scripts_dir)
    run_program(command, "The WHAMR! script", f"See its output above (it runs in {scripts_dir} and needs pyroomacoustics); "
                "a rerun starts it again.", cwd=scripts_dir)
    mark_complete(out_dir / DONE, {"command": command})
    return out_dir


def write_whamr_metadata(whamr_root, json_dir, sample_rate: str = "8k", mode: str = "min") -> Path:
    """``json_dir/{split}/{folder}.json`` for every folder of ``whamr_root/wav{sr}/{mode}/{split}``,
    the layout Asteroid's ``WhamRDataset`` (and :class:`~asteroid_deepmask.data.datasets.WhamrDataset`) reads."""
    json_dir = Path(json_dir)
    for split in SPLITS:
        split_dir = Path(whamr_root) / f"wav{sample_rate}" / mode / split
        mixtures = sorted((split_dir / "mix_both_reverb").glob("*.wav"))
        if not mixtures:
            raise FileNotFoundError(f"No mixtures in {split_dir / 'mix_both_reverb'}: expected WHAMR!'s layout.")
        (json_dir / split).mkdir(parents=True, exist_ok=True)
        for folder in sorted(p for p in split_dir.iterdir() if p.is_dir()):
            infos = []
            for mixture in mixtures:
                path = (folder / mixture.name).resolve()
                if not path.is_file():
                    raise FileNotFoundError(f"{path} is missing: every mixture needs its {folder.name} file.")
                infos.append([str(path), sf.info(str(path)).frames])
            write_json_atomic(json_dir / split / f"{folder.name}.json", infos, indent=1)
    return json_dir
