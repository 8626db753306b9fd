"""One experiment of the grid or the study: train and evaluate in Python, unless it is done.

What a recipe's stages 3-4 (and 5) do, called as functions: the same configuration file and
``--key value`` overrides as ``asteroid-deepmask train``, so a run here equals that command.
"""
import logging
import shlex
import time
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

log = logging.getLogger(__name__)


def experiment_overrides(options: dict, split, extra: Sequence[str] = ()) -> List[str]:
    """``--key value`` overrides: ``options``, then the tr/cv/tt json folders of ``split``, then ``extra``."""
    split = Path(split)
    overrides = [arg for key, value in options.items() for arg in (f"--{key}", str(value))]
    overrides += ["--train_dir", str(split / "tr"), "--valid_dir", str(split / "cv"), "--test_dir", str(split / "tt")]
    return overrides + list(extra)


def train_command(conf_path, exp_dir, overrides: Sequence[str]) -> str:
    """The ``asteroid-deepmask train`` command line that is the same run (logged, and kept in ``command.txt``)."""
    return shlex.join(["asteroid-deepmask", "train", "--conf", str(conf_path), "--exp-dir", str(exp_dir), *overrides])


def run_unless_done(
    conf_path, overrides: Sequence[str], exp_dir, label: str, dry_run: bool = False, report: bool = False,
    eval_workers: int = 1,
) -> Tuple[str, Optional[float]]:
    """Train and evaluate one experiment in ``exp_dir`` unless its ``eval/final_metrics.json`` exists.

    Returns the status ("done", "dry run" or "run") and the wall time in seconds of a run made here
    (None otherwise). A failed run raises: the next call starts it again, and training resumes from
    its last checkpoint. ``report`` also writes the experiment's report (stage 5 of the recipes).
    """
    exp_dir = Path(exp_dir)
    done = (exp_dir / "eval" / "final_metrics.json").is_file()
    status = "done" if done else ("dry run" if dry_run else "run")
    command = train_command(conf_path, exp_dir, overrides)
    log.info("%s [%s]: %s", label, status, command)
    if status != "run":
        return status, None
    # Imported when a run starts: listing or dry-running the grid and the study needs no Lightning.
    from ..engine.conf import conf_with_overrides
    from ..engine.evaluate import evaluate_experiment
    from ..engine.train import train

    started = time.time()
    conf = conf_with_overrides(conf_path, overrides)
    exp_dir.mkdir(parents=True, exist_ok=True)
    (exp_dir / "command.txt").write_text(command + "\n")  # what the model card cites
    train(conf, exp_dir)
    evaluate_experiment(exp_dir, workers=eval_workers)
    if report:
        from ..reporting.report import write_report

        write_report(exp_dir)
    return status, round(time.time() - started, 1)
