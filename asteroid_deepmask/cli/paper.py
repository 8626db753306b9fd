"""Subcommands of the paper's experiments: ``grid`` (Tables 1-3), ``tables``, ``study``, ``study-report``."""
import argparse
import json
from typing import List

from . import options

TABLES = ["1", "2", "3"]
RECIPES = ["wsj0-2mix", "wsj0-3mix", "whamr"]


def register(commands) -> None:
    # The study's rows and defaults name its options; paper.study is light (it loads the engine only to run).
    from ..paper.study import DEFAULT_SEEDS, STUDY_ROWS, StudyBudget

    grid = commands.add_parser(
        "grid", help="train, evaluate and report the rows of the paper's Tables 1-3 (after the recipes' data stages)",
        description="Runs what is not done yet (finished: EXP_ROOT/{recipe}/{tag}/eval/final_metrics.json) with each "
        "recipe's shipped configuration, in this process.",
        epilog="Options after the known ones override every row's configuration, e.g. --devices 4 --strategy ddp.",
    )
    _rows_options(grid)
    grid.add_argument("--data-root", required=True,
                      help="the recipes' data root, holding json/{2,3}speakers/wav8k/min/{tr,cv,tt} and json/whamr/{tr,cv,tt} "
                      "(what run.sh --stage 2 --data_root DIR writes)")
    grid.add_argument("--exp-root", default="exp", help="the run folders go here, {recipe}/{tag} (default: exp)")
    options.dry_run(grid)
    grid.set_defaults(func=_grid, takes_extra=True)

    tables = commands.add_parser("tables", help="the grid's results in the paper's layout, the paper's numbers beside")
    _rows_options(tables)
    tables.add_argument("--exp-root", default="exp", help="the grid's run folders (default: exp)")
    options.json_output(tables)
    tables.set_defaults(func=_tables)

    study = commands.add_parser(
        "study", help="re-test the paper's claims at small scale: every study row x seed with the demo recipe's conf",
        description="Runs what is not done yet (finished: eval/final_metrics.json), seed by seed; the corpus must exist "
        "(egs/demo/study.sh makes it).",
    )
    study.add_argument("--exp-root", required=True, help="the run folders go here, {row}_seed{seed}")
    study.add_argument("--json-dir", required=True, help="the demo's metadata root (holding {2,3}speakers/wav8k/min/...)")
    study.add_argument("--rows", nargs="+", default=None, metavar="ROW", help=f"some of: {' '.join(r.key for r in STUDY_ROWS)}")
    study.add_argument("--seeds", nargs="+", type=int, default=list(DEFAULT_SEEDS))
    study.add_argument("--epochs", type=int, default=StudyBudget.epochs)
    study.add_argument("--steps-per-epoch", type=int, default=StudyBudget.steps_per_epoch)
    study.add_argument("--segment", type=float, default=StudyBudget.segment, help="training segment (s)")
    study.add_argument("--conf", default=None, help="the configuration (default: the demo recipe's shipped conf)")
    options.dry_run(study)
    study.set_defaults(func=_study)

    study_report = commands.add_parser("study-report", help="the study's table, the claims' evidence and plots, from its run folders")
    study_report.add_argument("--exp-root", required=True)
    study_report.add_argument("--out-dir", required=True, help="study.md, study.json and the plots go here")
    study_report.add_argument("--rows", nargs="+", default=None, metavar="ROW")
    study_report.add_argument("--seeds", nargs="+", type=int, default=None, help="default: every seed found")
    study_report.set_defaults(func=_study_report)


def _rows_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--table", nargs="+", default=TABLES, choices=TABLES)
    parser.add_argument("--recipe", nargs="+", default=None, choices=RECIPES, help="only these recipes")


def _grid(args: argparse.Namespace, extra: List[str]) -> None:
    from ..paper.grid import run_grid, select_rows

    rows = select_rows(args.table, args.recipe)
    for result in run_grid(rows, args.data_root, args.exp_root, extra, dry_run=args.dry_run):
        print(f"[{result['status']}] {result['command']}")


def _tables(args: argparse.Namespace) -> None:
    from ..paper.grid import collect_tables, format_tables, select_rows

    collected = collect_tables(select_rows(args.table, args.recipe), args.exp_root)
    print(json.dumps(collected, indent=2) if args.json else format_tables(collected))


def _study(args: argparse.Namespace) -> None:
    from ..paper.study import StudyBudget, run_study, select_study_rows

    budget = StudyBudget(args.epochs, args.steps_per_epoch, args.segment)
    for result in run_study(select_study_rows(args.rows), args.seeds, args.exp_root, args.json_dir, budget,
                            dry_run=args.dry_run, conf_path=args.conf):
        print(f"[{result['status']}] {result['row'].name}, seed {result['seed']}: {result['command']}")


def _study_report(args: argparse.Namespace) -> None:
    from ..paper.study import select_study_rows, write_study_report

    print(write_study_report(select_study_rows(args.rows), args.exp_root, args.out_dir, args.seeds))
