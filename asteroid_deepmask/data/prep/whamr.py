"""WHAMR! (noisy, reverberant wsj0-2mix): creation with the official scripts, unchanged, in an environment
of their own where their pinned pyroomacoustics builds; and the json metadata that
:class:`~asteroid_deepmask.data.datasets.WhamrDataset` (reverberant targets, as in the paper) reads.

Why an environment of their own: the scripts' ``WhamRoom`` needs ``pyroomacoustics==0.3.1`` (their
requirements.txt). Today's pyroomacoustics (0.10) has no ``ShoeBox(absorption=...)`` and no
``SoundSource.get_rir``, and its impulse responses differ (no 1/(4 pi) gain, a 10 Hz high-pass filter
by default); a careful port came within about 65 dB SNR of 0.3.1's responses, not to the same
samples. 0.3.1 itself builds on Python 3.11 only without pip's build isolation, against numpy < 1.24
(its code uses ``np.float``, removed in 1.24); built while numpy 2 is installed, its C room code
silently fails to compile.
"""
import logging
import shutil
import subprocess
import tarfile
import tempfile
import venv
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
# What the scripts import, in versions that have Python 3.11 wheels and run pyroomacoustics 0.3.1.
WHAMR_ENV_PACKAGES = ("numpy==1.23.5", "scipy==1.11.4", "pandas==2.1.4", "soundfile", "Cython", "pybind11", "setuptools", "wheel")
PYROOMACOUSTICS = "pyroomacoustics==0.3.1"
ENV_CHECK = "from pyroomacoustics.c_package import libroom_available; assert libroom_available, 'libroom'"


def make_whamr_env(env_dir) -> Path:
    """A virtual environment in ``env_dir`` that runs the official WHAMR! scripts (:data:`WHAMR_ENV_PACKAGES`,
    then :data:`PYROOMACOUSTICS` built without build isolation and without pip's cache, whose broken
    wheels would be reused); returns its Python. Kept when complete; checked to import the C room code."""
    env_dir = Path(env_dir)
    python = env_dir / "bin" / "python"
    settings = [*WHAMR_ENV_PACKAGES, PYROOMACOUSTICS]
    if completed(env_dir / DONE, "packages", settings) is not None and python.is_file():
        return python
    log.info("Making the WHAMR! scripts' environment in %s (%s)", env_dir, ", ".join(settings))
    try:
        venv.create(env_dir, with_pip=True, clear=True)
    except (subprocess.CalledProcessError, OSError) as error:  # e.g. Debian's Python without python3-venv (ensurepip)
        raise RuntimeError(f"Could not make the WHAMR! scripts' environment in {env_dir} ({error}): this Python needs its "
                           "venv module with pip (Debian/Ubuntu: apt-get install python3-venv); or give --script-python.") from None
    hint = "The WHAMR! scripts' environment needs PyPI and a C++ compiler (g++); or give --script-python a Python that runs them."
    pip = [str(python), "-m", "pip", "-q", "--disable-pip-version-check"]
    run_program([*pip, "install", *WHAMR_ENV_PACKAGES], "Installing numpy, scipy and pandas for the WHAMR! scripts", hint)
    run_program([*pip, "install", "--no-build-isolation", "--no-cache-dir", PYROOMACOUSTICS], f"Building {PYROOMACOUSTICS}", hint)
    run_program([str(python), "-c", ENV_CHECK], f"Checking {PYROOMACOUSTICS}'s C room code",
                "It was built without its C extension (numpy 2 present at build time?): remove the environment and run again.")
    mark_complete(env_dir / DONE, {"packages": settings})
    return python


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


def create_whamr(scripts_dir, wsj0_wav_root, noise_dir, out_dir, python=None, env_dir=None) -> Path:
    """Run the official WHAMR! script with ``python``, by default that of :func:`make_whamr_env` in
    ``env_dir`` (default: ``out_dir/../whamr-env``); kept when finished, redone if it died."""
    out_dir = Path(out_dir)
    if completed(out_dir / DONE) is not None:
        return out_dir
    wsj0_wav_root = Path(wsj0_wav_root)
    if not (wsj0_wav_root / "wsj0" / "si_tr_s").is_dir():  # the scripts read <root>/wsj0/si_tr_s/...
        if wsj0_wav_root.name == "wsj0" and (wsj0_wav_root / "si_tr_s").is_dir():
            wsj0_wav_root = wsj0_wav_root.parent
        else:
            raise FileNotFoundError(f"{wsj0_wav_root} is not a converted WSJ0 tree: the WHAMR! scripts read wsj0/si_tr_s/<speaker>/<utt>.wav under it.")
    missing = [f"metadata/scaling_{split}.npz" for split in SPLITS if not (Path(noise_dir) / "metadata" / f"scaling_{split}.npz").is_file()]
    if missing:
        raise FileNotFoundError(f"{noise_dir} lacks {', '.join(missing)}: the WHAMR! scripts need the WHAM! noise folder "
                                f"as wham_noise.zip unpacks ({WHAM_NOISE_URL}), with its metadata/.")
    # absolute (the script runs in scripts_dir), not resolved: a venv's python is a link out of the venv
    python = (Path(python) if python else make_whamr_env(env_dir or out_dir.parent / "whamr-env")).absolute()
    out_dir.mkdir(parents=True, exist_ok=True)
    command = [
        str(python), SCRIPT, "--wsj0-root", str(wsj0_wav_root.resolve()),
        "--wham-noise-root", str(Path(noise_dir).resolve()), "--output-dir", str(out_dir.resolve()),
    ]
    log.info("Running %s in %s", " ".join(command), scripts_dir)
    run_program(command, "The WHAMR! script", f"See its output above (it runs in {scripts_dir} with {python}); "
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
