"""Run a recipe command once: what the study and the paper's grid share."""
import logging
import time
from pathlib import Path
from typing import Optional, Sequence, Tuple

from ..data.external import run_program

log = logging.getLogger(__name__)


def run_unless_done(command: Sequence[str], cwd, metrics_file, label: str, dry_run: bool = False) -> Tuple[str, Optional[float]]:
    """Run ``command`` in ``cwd`` unless ``metrics_file`` (the recipe's final_metrics.json) exists.

    Returns the status ("done", "dry run" or "run") and the wall time in seconds of a run made here
    (None otherwise). A failed run raises: the next call starts it again, and the recipe resumes
    from its last checkpoint.
    """
    done = Path(metrics_file).is_file()
    status = "done" if done else ("dry run" if dry_run else "run")
    log.info("%s [%s]: %s", label, status, " ".join(command))
    if status != "run":
        return status, None
    started = time.time()
    run_program(command, label, "See its log above; run the same command again to resume it.", cwd=cwd)
    return status, round(time.time() - started, 1)
