"""External programs the package runs (apt-get, a C compiler, sph2pipe, the WHAMR! scripts,
recipe scripts): a failure becomes a one-line error that says what failed and what to do, not a
``CalledProcessError`` traceback. And downloads: the first URL that answers, written atomically."""
import logging
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Optional, Sequence

from ..io import atomic_path

log = logging.getLogger(__name__)

APT_LOCK_TIMEOUT_S = 300  # apt-get waits this long for a dpkg lock held by another package manager


class ProgramFailed(RuntimeError):
    """An external program exited with an error; ``error_line`` is its last error message."""

    def __init__(self, message: str, error_line: str = ""):
        super().__init__(message)
        self.error_line = error_line


def run_program(command: Sequence[str], what: str, hint: str, capture_stdout: bool = False, **kwargs) -> subprocess.CompletedProcess:
    """Run ``command``; on a non-zero exit raise :class:`ProgramFailed` ("{what} failed (exit N:
    its last error line). {hint}").

    Its stderr is captured to quote it, then passed on, so warnings still reach the user.
    """
    try:
        result = subprocess.run(list(command), stdout=subprocess.PIPE if capture_stdout else None, stderr=subprocess.PIPE, **kwargs)
    except FileNotFoundError:
        raise ProgramFailed(f"{what} failed: {command[0]} not found. {hint}") from None
    stderr = result.stderr.decode(errors="replace") if isinstance(result.stderr, bytes) else result.stderr
    if stderr and not capture_stdout:
        sys.stderr.write(stderr)
    if result.returncode != 0:
        lines = [line.strip() for line in stderr.splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("E:")] or lines  # apt's error lines
        error_line = errors[-1] if errors else ""
        raise ProgramFailed(f"{what} failed (exit {result.returncode}{': ' + error_line if error_line else ''}). {hint}", error_line)
    return result


def apt_get(args: Sequence[str], hint: str, timeout_s: int = APT_LOCK_TIMEOUT_S, sudo: Optional[bool] = None) -> None:
    """``apt-get ARGS`` (through ``sudo -n`` unless root), waiting up to ``timeout_s`` for the dpkg
    lock (apt's ``DPkg::Lock::Timeout``) instead of failing when another apt-get holds it."""
    sudo = os.geteuid() != 0 if sudo is None else sudo
    command = [*(["sudo", "-n"] if sudo else []), "apt-get", "-o", f"DPkg::Lock::Timeout={timeout_s}", *args]
    shown = "apt-get " + " ".join(args)
    try:
        run_program(command, f"`{shown}`", hint, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    except ProgramFailed as err:
        if "lock" in err.error_line.lower():  # "Could not get lock /var/lib/dpkg/lock-frontend. It is held by ..."
            raise ProgramFailed(
                f"`{shown}`: another package manager held the dpkg lock for {timeout_s} s ({err.error_line}). "
                "Wait until it has finished (unattended-upgrades, another apt-get), then run this again.",
                err.error_line,
            ) from None
        raise


def download(urls: Sequence[str], target: Path) -> Path:
    """Fetch the first of ``urls`` that answers to ``target`` (atomically); keep an existing file."""
    target = Path(target)
    if target.is_file():
        return target
    errors = []
    for url in urls:
        try:
            log.info("Downloading %s", url)
            with atomic_path(target) as partial, urllib.request.urlopen(url, timeout=60) as response, open(partial, "wb") as out:
                shutil.copyfileobj(response, out)
            return target
        except OSError as error:  # URLError and HTTPError are OSErrors
            errors.append(f"{url}: {error}")
    raise RuntimeError(f"Could not download {target.name}: " + "; ".join(errors))
