"""External programs the package runs (apt-get, a C compiler, sph2pipe, the WHAMR! scripts,
recipe scripts): a failure becomes a one-line error that says what failed and what to do, not a
``CalledProcessError`` traceback. And downloads: the first URL that answers, resumable, checked against its md5."""
import logging
import os
import shutil
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Optional, Sequence

from ..io import file_digest

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


def _open_from(url: str, offset: int):
    """A readable response of ``url`` from byte ``offset``, and whether it starts there (else at 0).

    http(s): a Range request (a server that ignores it answers from the start); file://: a seek."""
    if url.startswith("file://"):
        handle = open(urllib.request.url2pathname(urllib.parse.urlparse(url).path), "rb")
        handle.seek(offset)
        return handle, True
    request = urllib.request.Request(url, headers={"Range": f"bytes={offset}-"} if offset else {})
    response = urllib.request.urlopen(request, timeout=60)
    return response, offset > 0 and getattr(response, "status", 200) == 206


def download(urls: Sequence[str], target: Path, md5: Optional[str] = None) -> Path:
    """Fetch the first of ``urls`` that answers to ``target``; keep an existing file.

    Resumable: bytes go to ``TARGET.part``, which a killed or failed download leaves behind and
    the next call continues (HTTP Range; a server that ignores it starts again). ``md5``: the
    finished file must have this checksum, else it is removed and the download is an error."""
    target = Path(target)
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    errors = []
    for url in urls:
        offset = partial.stat().st_size if partial.is_file() else 0
        try:
            log.info("Downloading %s%s", url, f" (resuming at {offset} bytes)" if offset else "")
            response, resumed = _open_from(url, offset)
            with response, open(partial, "ab" if resumed else "wb") as out:
                shutil.copyfileobj(response, out, 1 << 20)
        except OSError as error:  # URLError and HTTPError are OSErrors
            errors.append(f"{url}: {error}")
            continue
        if md5 and file_digest(partial, "md5") != md5:
            partial.unlink()
            errors.append(f"{url}: the file's md5 is not the expected {md5} (removed; run again to download it anew)")
            continue
        os.replace(partial, target)
        return target
    raise RuntimeError(f"Could not download {target.name}: " + "; ".join(errors))
