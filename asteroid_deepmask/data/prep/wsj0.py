"""WSJ0 to wav, in Python: SPHERE conversion (shorten-compressed files through sph2pipe, which
is downloaded and compiled when needed) into the merged tree ``wsj0/{folder}/{speaker}/{utt}.wav``
that the standard mixture lists name; :mod:`.wsj0mix` mixes from it.
"""
import io
import logging
import os
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np
import soundfile as sf

from ..io import DONE, completed, mark_complete, write_wav_atomic
from .external import download, run_program
from .parallel import run_parallel

log = logging.getLogger(__name__)

# WSJ0 folders the standard lists draw from (training/validation: si_tr_s; test: si_dt_05, si_et_05).
WSJ0_FOLDERS = ("si_tr_s", "si_dt_05", "si_et_05")
SPH2PIPE_URLS = (
    "https://www.openslr.org/resources/3/sph2pipe_v2.5.tar.gz",
    "https://github.com/burrmill/sph2pipe/archive/2.5.tar.gz",
)


# ---------------------------------------------------------------------------------------------
# sph2pipe
# ---------------------------------------------------------------------------------------------
def build_sph2pipe(tools_dir, source=None, urls: Sequence[str] = SPH2PIPE_URLS) -> Path:
    """Compile sph2pipe (WSJ0 ships shorten-compressed SPHERE) into ``tools_dir`` from ``source``, a
    local source archive (``sph2pipe_v2.5.tar.gz``), or else from the first of ``urls`` that answers."""
    tools_dir = Path(tools_dir)
    binary = tools_dir / "sph2pipe"
    if binary.is_file():
        return binary
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        raise RuntimeError("Building sph2pipe needs a C compiler (gcc); or give --sph2pipe a sph2pipe binary, or put one on PATH.")
    archive = Path(source) if source is not None else download(urls, tools_dir / "sph2pipe.tar.gz")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            with tarfile.open(archive) as tf:
                tf.extractall(tmp, filter="data")
        except tarfile.TarError as error:
            raise RuntimeError(f"{archive} is not a sph2pipe source archive (.tar.gz): {error}.") from None
        sources = sorted(Path(tmp).rglob("*.c"))
        if not sources:
            raise RuntimeError(f"{archive} holds no C sources: not a sph2pipe archive.")
        tools_dir.mkdir(parents=True, exist_ok=True)
        run_program([compiler, "-O2", "-o", str(binary), *map(str, sources), "-lm"], f"Building sph2pipe with {compiler}",
                    "Install a working C compiler (gcc), or give --sph2pipe a sph2pipe binary.", cwd=sources[0].parent)
    return binary


def find_sph2pipe(given=None, tools_dir=None) -> Path:
    """The sph2pipe to run: ``given`` (a binary, or a source archive to compile), else one on PATH,
    else compiled from the downloaded sources into ``tools_dir``."""
    if given is not None:
        given = Path(given)
        if not given.is_file():
            raise FileNotFoundError(f"--sph2pipe {given} does not exist: expected a sph2pipe binary or its source archive (sph2pipe_v2.5.tar.gz).")
        if tarfile.is_tarfile(given):
            return build_sph2pipe(tools_dir, given)
        if not os.access(given, os.X_OK):
            raise PermissionError(f"--sph2pipe {given} is not executable: expected a sph2pipe binary (chmod +x) or its source archive.")
        return given
    on_path = shutil.which("sph2pipe")
    return Path(on_path) if on_path else build_sph2pipe(tools_dir)


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


def list_path(wv1: Path, root: Path):
    """The path MERL's lists give an utterance (``wsj0/si_tr_s/01t/01to030v.wav``), read off the last
    three parts of its path under ``root`` (``<folder>/<speaker>/<speaker><utt>.wv1``), whatever the
    folders above them are called; None for a file that is not such an utterance."""
    parts = wv1.relative_to(root).parts
    if len(parts) < 3:
        return None
    folder, speaker, name = (part.lower() for part in parts[-3:])
    if folder not in WSJ0_FOLDERS or not name.startswith(speaker):
        return None
    return Path("wsj0", folder, speaker, name).with_suffix(".wav")


def wsj0_utterances(wsj0_root) -> List[Tuple[Path, Path]]:
    """(``.wv1`` file, its path in the merged ``wsj0/`` tree, as ``.wav``) for the folders the lists use,
    found under ``wsj0_root`` at any depth (the LDC discs, ``11-1.1/wsj0/si_tr_s/01t/01to030v.wv1``,
    under a folder of any name, ``wsj0`` included). A file found twice (a disc copied twice) is taken once."""
    root = Path(wsj0_root)
    if not root.is_dir():
        raise FileNotFoundError(f"--wsj0_root {root} does not exist: expected the WSJ0 (LDC93S6A) discs, e.g. {root}/11-1.1/wsj0/si_tr_s/01t/01to030v.wv1.")
    found = {}
    for wv1 in sorted(p for p in root.rglob("*") if p.suffix.lower() == ".wv1" and p.is_file()):
        relative = list_path(wv1, root)
        if relative is not None:
            found.setdefault(relative, wv1)
    if not found:
        raise FileNotFoundError(
            f"No WSJ0 utterances under {root}: expected .wv1 files in {'/'.join(WSJ0_FOLDERS)} folders, "
            f"e.g. {root}/11-1.1/wsj0/si_tr_s/01t/01to030v.wv1 (LDC93S6A disc layout)."
        )
    return sorted(((wv1, relative) for relative, wv1 in found.items()), key=lambda pair: str(pair[1]))


def _convert_one(job) -> None:
    wv1, target, sph2pipe = job
    if target.is_file():
        return
    data, rate = read_sphere(wv1, sph2pipe)
    write_wav_atomic(target, data, rate)


def convert_wsj0(wsj0_root, out_dir, sph2pipe: Path = None, workers: int = None) -> Path:
    """Write every utterance the lists use as ``out_dir/wsj0/{folder}/{speaker}/{utt}.wav``.

    Kept when complete (``done.json``); a run that died half-way finishes what is missing.
    """
    out_dir = Path(out_dir)
    if completed(out_dir / DONE) is not None:
        return out_dir
    pairs = wsj0_utterances(wsj0_root)
    jobs = [(wv1, out_dir / relative, sph2pipe) for wv1, relative in pairs]
    run_parallel(_convert_one, jobs, workers, "sphere to wav")
    mark_complete(out_dir / DONE, {"utterances": len(jobs), "wsj0_root": str(wsj0_root)})
    return out_dir


def converted_tree(root) -> Path:
    """``root`` if it already is a converted wav tree (``wsj0/si_tr_s/*/*.wav``, or ``si_tr_s/*/*.wav``
    directly: the lists' paths are found in both), else None."""
    root = Path(root)
    for folder in (root / "wsj0" / "si_tr_s", root / "si_tr_s"):
        if next(folder.glob("*/*.wav"), None) is not None:
            return root
    return None


def convert_wsj0_tree(wsj0_root, out_dir, tools_dir=None, workers: int = None, sph2pipe=None) -> Path:
    """The converted wav tree of ``wsj0_root``: itself if already converted, else ``out_dir``. For
    shorten-compressed files, ``sph2pipe`` is a binary or its source archive; without it, one on PATH
    or one compiled from the downloaded sources (in ``tools_dir``)."""
    if converted_tree(wsj0_root) is not None:
        log.info("%s is already a wav tree: used as it is", wsj0_root)
        return Path(wsj0_root)
    if completed(Path(out_dir) / DONE) is not None:
        return Path(out_dir)
    first_wv1 = wsj0_utterances(wsj0_root)[0][0]
    program = None
    if "shorten" in sphere_header(first_wv1).get("sample_coding", ""):
        program = find_sph2pipe(sph2pipe, tools_dir or Path(out_dir).parent / "tools")
    return convert_wsj0(wsj0_root, out_dir, program, workers)
