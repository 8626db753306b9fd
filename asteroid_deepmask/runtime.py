"""Fast CPU defaults for the long-running commands (train, and so every grid run; evaluate,
separate, infer): the memory allocator and torch's thread count. Detected, never required; one log line says what is used.

Why: the models' activations are tens of MB each and are freed and taken again at every step
(every chunk at inference). glibc's malloc hands such blocks back to the kernel (munmap) and gets
them again through page faults: measured as a third of a CPU training step spent in the kernel.
jemalloc with its decay turned off, or tcmalloc, keeps them; where neither is installed, glibc is
told to keep them too (mallopt). Numerics are untouched: only where memory comes from changes.

Set ``ASTEROID_DEEPMASK_ALLOCATOR`` to ``glibc`` to skip the library search, or ``off`` for
the plain process.
"""
import ctypes
import logging
import os
import sys
from pathlib import Path
from typing import Iterable, Mapping, Optional, Tuple

log = logging.getLogger(__name__)

SWITCH = "ASTEROID_DEEPMASK_ALLOCATOR"  # auto (default) | glibc | off
_REEXECUTED = "_ASTEROID_DEEPMASK_PRELOADED"  # set in the re-executed process: never loop
LIBRARIES = (
    ("jemalloc", "libjemalloc.so.2"),
    ("tcmalloc", "libtcmalloc_minimal.so.4"),
    ("tcmalloc", "libtcmalloc.so.4"),
)
SEARCH_DIRS = (
    "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib",
    os.path.join(sys.prefix, "lib"),
)
# Decay off: freed pages stay with the process instead of going back to the kernel.
JEMALLOC_CONF = "dirty_decay_ms:-1,muzzy_decay_ms:-1"
# glibc's mallopt parameters and the values measured to stop the mmap/munmap churn.
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
GLIBC_SETTINGS = {M_MMAP_THRESHOLD: 32 * 2**20, M_TRIM_THRESHOLD: 2**31 - 1, M_TOP_PAD: 2**30}


def find_allocator(search_dirs: Iterable[str] = SEARCH_DIRS) -> Optional[Tuple[str, Path]]:
    """(name, path) of the first of jemalloc / tcmalloc installed in ``search_dirs``, or None."""
    for name, filename in LIBRARIES:
        for directory in search_dirs:
            path = Path(directory) / filename
            if path.is_file():
                return name, path
    return None


def loaded_allocator() -> Optional[str]:
    """jemalloc or tcmalloc if this process has one mapped (LD_PRELOAD), else None."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return None
    for name in ("jemalloc", "tcmalloc"):
        if f"lib{name}" in maps:
            return name
    return None


def preload_environment(environ: Mapping[str, str], search_dirs: Iterable[str] = SEARCH_DIRS) -> Optional[dict]:
    """The environment to re-execute this process with so that a found allocator is loaded, or
    None: switched off, already loaded or tried, or nothing installed."""
    if environ.get(SWITCH, "auto") != "auto" or environ.get(_REEXECUTED) or loaded_allocator():
        return None
    found = find_allocator(search_dirs)
    if found is None:
        return None
    name, path = found
    env = dict(environ)
    env["LD_PRELOAD"] = " ".join(filter(None, [str(path), environ.get("LD_PRELOAD", "")]))
    if name == "jemalloc":
        env.setdefault("MALLOC_CONF", JEMALLOC_CONF)
    env[_REEXECUTED] = str(path)
    return env


def mallopt(settings: Mapping[int, int]) -> bool:
    """Apply glibc ``mallopt`` settings ({parameter: value}); False where the C library is not glibc."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        return all(libc.mallopt(parameter, value) == 1 for parameter, value in settings.items())
    except (OSError, AttributeError):
        return False


def tune_glibc() -> bool:
    """Apply GLIBC_SETTINGS with mallopt; False where the C library is not glibc."""
    return mallopt(GLIBC_SETTINGS)


def proc_status_kb(key: str, pid="self") -> int:
    """A kB field of /proc/PID/status (VmRSS, VmHWM: peak resident memory, ...) of this process or ``pid``."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {key} in /proc/{pid}/status (Linux only)")


def set_threads() -> int:
    """torch's intra-op threads = the cores this process may run on (torch counts the machine's,
    which oversubscribes in containers and under CPU affinity)."""
    import torch

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if torch.get_num_threads() != cores:
        torch.set_num_threads(cores)
    return torch.get_num_threads()


def setup(reexec_argv: Optional[list] = None, environ: Mapping[str, str] = os.environ, search_dirs: Iterable[str] = SEARCH_DIRS) -> str:
    """Set the process up for speed and log what is used. With ``reexec_argv`` (the command line
    to run again), a found jemalloc / tcmalloc is loaded by re-executing the process with
    LD_PRELOAD (it cannot be swapped in later); without, or if none is found, glibc is tuned."""
    switch = environ.get(SWITCH, "auto")
    if switch not in ("auto", "glibc", "off"):
        raise ValueError(f"{SWITCH} must be auto, glibc or off, got {switch!r}.")
    if reexec_argv is not None:
        env = preload_environment(environ, search_dirs)
        if env is not None:
            sys.stdout.flush()
            sys.stderr.flush()
            os.execve(sys.executable, [sys.executable, *reexec_argv], env)
    loaded = loaded_allocator()
    if switch == "off":
        allocator = "the default malloc (ASTEROID_DEEPMASK_ALLOCATOR=off)"
    elif loaded:
        allocator = f"{loaded} ({environ.get('MALLOC_CONF', 'its default settings')})" if loaded == "jemalloc" else loaded
    elif tune_glibc():
        allocator = "glibc malloc, told to keep freed memory (mmap threshold 32 MB, no trimming)"
        if environ.get(_REEXECUTED):
            allocator += f"; {environ[_REEXECUTED]} did not load"
    else:
        allocator = "the default malloc (not glibc; nothing tuned)"
    threads = set_threads() if switch != "off" else None
    message = f"CPU runtime: {allocator}" + (f", {threads} torch threads" if threads else "")
    log.info(message)
    return message


def cpu_autocast_error(dtype, backward: bool = False) -> Optional[str]:
    """Why this CPU cannot autocast an LSTM (a bidirectional one, as the models have) to ``dtype``,
    or ``None`` where it can. oneDNN refuses bf16/fp16 LSTMs, with an obscure error at the first
    call, on CPUs without bf16/fp16 instructions (e.g. AVX2-only ones); ``backward`` also tries
    the gradient, which training needs."""
    import torch

    lstm = torch.nn.LSTM(4, 4, bidirectional=True)
    try:
        with torch.autocast("cpu", dtype=dtype), torch.set_grad_enabled(backward):
            output, _ = lstm(torch.zeros(3, 2, 4))
            if backward:
                output.sum().backward()
    except RuntimeError as error:
        return str(error).splitlines()[0]
    return None
