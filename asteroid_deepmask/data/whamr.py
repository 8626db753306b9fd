"""WHAMR! (noisy, reverberant wsj0-2mix): creation with the official scripts, json metadata, and a
dataset whose targets are the *reverberant* sources, as in the paper (Sec. 3.3).

Asteroid's ``WhamRDataset`` always returns the anechoic sources; :class:`WhamrDataset` extends it
with ``targets="reverberant"`` (default) and keeps ``targets="anechoic"``.
"""
import json
import logging
import shutil
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import soundfile as sf
from asteroid.data import WhamRDataset

from .external import run_program
from .wsj0 import DONE, download

log = logging.getLogger(__name__)

WHAMR_SCRIPTS_URL = "https://storage.googleapis.com/whisper-public/whamr_scripts.tar.gz"
WHAM_NOISE_URL = "https://storage.googleapis.com/whisper-public/wham_noise.zip"
SCRIPT = "create_wham_from_scratch.py"
SPLITS = ("tr", "cv", "tt")
TARGETS = {"reverberant": "reverb", "anechoic": "anechoic"}


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
        if not (folder / DONE).is_file():
            archive = Path(source) if Path(source).is_file() else download([source], work_dir / "wham_noise.zip")
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(work_dir)
            (folder / DONE).write_text(json.dumps({"from": str(source)}))
    missing = [split for split in SPLITS if not (folder / split).is_dir()]
    if missing:
        raise FileNotFoundError(f"{folder} is not the WHAM! noise folder: expected {', '.join(missing)}/ in it ({WHAM_NOISE_URL}).")
    return folder


def create_whamr(scripts_dir, wsj0_wav_root, noise_dir, out_dir, python: str = None) -> Path:
    """Run the official WHAMR! script (it needs pyroomacoustics); kept when finished, redone if it died."""
    out_dir = Path(out_dir)
    if (out_dir / DONE).is_file():
        return out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    command = [
        python or sys.executable, SCRIPT, "--wsj0-root", str(Path(wsj0_wav_root).resolve()),
        "--wham-noise-root", str(Path(noise_dir).resolve()), "--output-dir", str(out_dir.resolve()),
    ]
    log.info("Running %s in %s", " ".join(command), scripts_dir)
    run_program(command, "The WHAMR! script", f"See its output above (it runs in {scripts_dir} and needs pyroomacoustics); "
                "a rerun starts it again.", cwd=scripts_dir)
    (out_dir / DONE).write_text(json.dumps({"command": command}))
    return out_dir


def write_whamr_metadata(whamr_root, json_dir, sample_rate: str = "8k", mode: str = "min") -> Path:
    """``json_dir/{split}/{folder}.json`` for every folder of ``whamr_root/wav{sr}/{mode}/{split}``,
    the layout Asteroid's ``WhamRDataset`` (and :class:`WhamrDataset`) reads."""
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
            (json_dir / split / f"{folder.name}.json").write_text(json.dumps(infos, indent=1))
    return json_dir


class WhamrDataset(WhamRDataset):
    """Asteroid's ``WhamRDataset`` with a choice of targets: ``"reverberant"`` (the paper's, default)
    returns ``s{k}_reverb``, ``"anechoic"`` returns ``s{k}_anechoic`` as Asteroid does."""

    def __init__(self, json_dir, task="sep_reverb_noisy", sample_rate=8000, segment=4.0, targets="reverberant"):
        if targets not in TARGETS:
            raise ValueError(f"targets must be one of {sorted(TARGETS)}, got {targets!r}.")
        super().__init__(json_dir, task, sample_rate=sample_rate, segment=segment)
        self.targets = targets
        if targets == "anechoic":
            return
        # The parent kept the mixtures long enough for a segment; keep the same ones, in order.
        kept = {path for path, _ in self.mix}
        order = [path for path, _ in json.loads((Path(json_dir) / f"{self.task_dict['mixture']}.json").read_text())]
        index = [i for i, path in enumerate(order) if path in kept]
        self.sources = []
        for name in self.task_dict["sources"]:
            infos = json.loads((Path(json_dir) / f"{name.replace('anechoic', 'reverb')}.json").read_text())
            self.sources.append([infos[i] for i in index])

    def get_infos(self):
        infos = super().get_infos()
        infos["targets"] = self.targets
        return infos
