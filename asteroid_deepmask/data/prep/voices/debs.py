"""The allow-listed packages as .deb files (``apt-get download``, or a folder of them) and their
contents (``dpkg-deb -x``): nothing is installed."""
import logging
import shutil
import subprocess
from pathlib import Path
from typing import Dict, Optional, Sequence

from ...io import atomic_path

log = logging.getLogger(__name__)


def _dpkg_deb() -> str:
    tool = shutil.which("dpkg-deb")
    if tool is None:
        raise RuntimeError("dpkg-deb not found: install dpkg (it only unpacks the .deb files, nothing is installed)")
    return tool


def deb_field(deb: Path, field: str) -> str:
    """One control field of a .deb (``dpkg-deb -f``)."""
    result = subprocess.run([_dpkg_deb(), "-f", str(deb), field], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"dpkg-deb cannot read {deb}: {result.stderr.strip() or 'exit ' + str(result.returncode)}")
    return result.stdout.strip()


def _debs_by_package(folder: Path) -> Dict[str, Path]:
    found = {}
    for deb in sorted(folder.glob("*.deb")):
        found.setdefault(deb_field(deb, "Package"), deb)
    return found


def fetch_debs(packages: Sequence[str], out_dir: Path, debs_dir: Optional[Path] = None) -> Dict[str, Path]:
    """The .deb of each package: from ``debs_dir`` if given, else ``apt-get download`` into
    ``OUT/debs`` unless one is there already. ``apt-get download`` only fetches the file: nothing
    is installed and no dependency (no game) is pulled in."""
    if debs_dir is not None:
        found = _debs_by_package(Path(debs_dir))
        missing = [p for p in packages if p not in found]
        if missing:
            raise FileNotFoundError(f"no .deb for {', '.join(missing)} in {debs_dir} (get one with: apt-get download PKG)")
        return {p: found[p] for p in packages}
    folder = Path(out_dir) / "debs"
    folder.mkdir(parents=True, exist_ok=True)
    found = {}
    for package in packages:
        ready = [d for d in sorted(folder.glob(f"{package}_*.deb")) if deb_field(d, "Package") == package]
        if not ready:
            if shutil.which("apt-get") is None:
                raise RuntimeError(f"apt-get not found, needed to download {package}: on a Debian-based system run "
                                   f"`apt-get download {package}` and pass the folder with --debs-dir")
            log.info("apt-get download %s", package)
            result = subprocess.run(["apt-get", "download", package], cwd=folder, capture_output=True, text=True)
            if result.returncode != 0:
                last = (result.stderr.strip().splitlines() or ["no message"])[-1]
                raise RuntimeError(f"apt-get download {package} failed ({last}): check that Debian 12 main is in the "
                                   f"APT sources and run `apt-get update`, or download it elsewhere and pass --debs-dir")
            ready = [d for d in sorted(folder.glob(f"{package}_*.deb")) if deb_field(d, "Package") == package]
            if not ready:
                raise RuntimeError(f"apt-get download {package} left no {package}_*.deb in {folder}")
        found[package] = ready[-1]
    return found


def unpack_deb(deb: Path, package: str, version: str, out_dir: Path) -> Path:
    """``dpkg-deb -x`` (what ``dpkg -x`` runs) into ``OUT/unpacked/<package>``; the folder only
    appears, by rename, once complete, and is reused while its version matches."""
    target = Path(out_dir) / "unpacked" / package
    stamp = target / ".version"
    if stamp.is_file() and stamp.read_text() == version:
        return target
    with atomic_path(target) as partial:
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        result = subprocess.run([_dpkg_deb(), "-x", str(deb), str(partial)], capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"dpkg-deb -x {deb} failed: {result.stderr.strip()}")
        (partial / ".version").write_text(version)
        shutil.rmtree(target, ignore_errors=True)
    return target
