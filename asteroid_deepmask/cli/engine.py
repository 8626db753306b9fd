"""Subcommands of one experiment: ``train``, ``evaluate``, ``report``, ``publish`` (the recipes' stages 3-6)."""
import argparse
import json
from pathlib import Path
from typing import List

from . import options


def register(commands) -> None:
    train = commands.add_parser(
        "train",
        help="train a model from a recipe configuration",
        description="Every key of the configuration file can be overridden as --key value.",
    )
    train.add_argument("--conf", required=True, help="the recipe's conf.yml")
    options.exp_dir(train, help="experiment folder (resumes from its last checkpoint)")
    train.set_defaults(func=_train, takes_extra=True)

    evaluate = commands.add_parser("evaluate", help="SI-SDRi / SDRi of a trained experiment on its test set")
    options.exp_dir(evaluate)
    evaluate.add_argument("--test-dir", help="json folder of the test set (default: the configuration's)")
    evaluate.add_argument("--name", default=None, help="a name for another test set given by --test-dir, e.g. xt: "
                          "its results go to EXP_DIR/eval_NAME, and the report and model card show them beside the test set's")
    evaluate.add_argument("--n-examples", type=int, default=3, help="example wavs to write")
    evaluate.add_argument("--max-utterances", type=int, default=None)
    options.workers(evaluate, default=1, help="processes over the utterances (CPU: up to the core count)")
    options.device(evaluate, default=None, help="torch device (default: cuda if available, else cpu)")
    evaluate.add_argument("--oracle-grouping", action="store_true",
                          help="overseparation models: group the P branches with the references' help (an upper bound, "
                          "to measure what the model's own grouping loses); writes EXP_DIR/eval_oracle_grouping")
    evaluate.set_defaults(func=_evaluate)

    report = commands.add_parser("report", help="markdown table and spectrogram figure of an evaluated experiment")
    options.exp_dir(report)
    report.set_defaults(func=_report)

    publish = commands.add_parser("publish", help="a model file and a model card from an evaluated experiment")
    options.exp_dir(publish)
    publish.add_argument("--name", required=True, help="model name, e.g. deepmask-voices-2src")
    publish.add_argument("--out-dir", required=True, help="where to write NAME.pth and NAME.md")
    publish.add_argument("--notes", help="a markdown file added to the card as its Notes (what the run's files cannot tell)")
    publish.add_argument("--hub-layout", action="store_true",
                         help="write pytorch_model.bin and README.md, a folder to upload to a Hugging Face repo")
    publish.set_defaults(func=_publish)


def _train(args: argparse.Namespace, extra: List[str]) -> None:
    from ..engine.conf import conf_with_overrides
    from ..engine.train import train

    print(train(conf_with_overrides(args.conf, extra), args.exp_dir))


def _evaluate(args: argparse.Namespace) -> None:
    from ..engine.evaluate import evaluate_experiment

    final = evaluate_experiment(
        args.exp_dir, args.test_dir, oracle_grouping=args.oracle_grouping, name=args.name, n_examples=args.n_examples,
        max_utterances=args.max_utterances, device=args.device, workers=args.workers,
    )
    print(json.dumps(final, indent=2))


def _report(args: argparse.Namespace) -> None:
    from ..reporting.report import write_report

    report = write_report(args.exp_dir)
    print(report.read_text())
    print(f"Written: {report}")


def _publish(args: argparse.Namespace) -> None:
    from ..reporting.publish import publish

    notes = Path(args.notes).read_text() if args.notes else None
    print(publish(args.exp_dir, args.name, args.out_dir, notes=notes, hub_layout=args.hub_layout).read_text())
