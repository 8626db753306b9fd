"""The ``asteroid-deepmask`` command: one module per area, each registering its subcommands.

- :mod:`.data`: corpora and metadata (``corpus``, ``voices``, ``wsj0mix-create``, ``metadata``, ...);
- :mod:`.engine`: one experiment (``train``, ``evaluate``, ``report``, ``publish``);
- :mod:`.models`: models as they are (``complexity``, ``separate``, ``infer``);
- :mod:`.deploy`: ``export`` (ONNX, TorchScript);
- :mod:`.paper`: the paper's experiments (``grid``, ``tables``, ``study``, ``study-report``);
- :mod:`.bench`: ``benchmark``.

Options shared by several subcommands are defined once (:mod:`.options`). The handlers import what
they run when they run, so building the parser (``--help``) loads no training or plotting code.
"""
import argparse
import logging
import sys
from typing import List, Optional

from . import bench, data, deploy, engine, models, paper

AREAS = (models, deploy, bench, data, paper, engine)

# Commands that run long enough for the CPU runtime set-up (asteroid_deepmask.runtime) to pay.
LONG_RUNNING = {"train", "evaluate", "separate", "infer"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="asteroid-deepmask",
        description="Overseparation-grouping and deep mask estimation for Asteroid's DPRNN-TasNet.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for area in AREAS:
        area.register(commands)
    return parser


def main(argv: Optional[List[str]] = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s: %(message)s")
    args, extra = build_parser().parse_known_args(argv)
    if extra and not getattr(args, "takes_extra", False):
        raise SystemExit(f"error: unrecognized arguments: {' '.join(extra)}")
    if args.command in LONG_RUNNING:
        from ..runtime import setup

        # Run from the command line, the process may start again with a faster allocator preloaded.
        setup(reexec_argv=["-m", "asteroid_deepmask.cli", *sys.argv[1:]] if argv is None else None)
    try:
        args.func(args, extra) if getattr(args, "takes_extra", False) else args.func(args)
    except (FileNotFoundError, ValueError, RuntimeError, ImportError) as err:
        # Bad paths and inputs, a missing optional extra: the message says what was expected; the traceback helps nobody.
        logging.getLogger("asteroid_deepmask").debug("traceback", exc_info=True)
        raise SystemExit(f"error: {err}")
