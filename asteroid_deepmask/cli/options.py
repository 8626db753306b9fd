"""Options that several subcommands share, each defined once here."""
import argparse
from typing import List

import yaml


def parse_overrides(pairs: List[str]) -> dict:
    """``["mlp_hidden=16", "gated_head=true"]`` -> ``{"mlp_hidden": 16, "gated_head": True}`` (YAML scalars)."""
    overrides = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"error: expected model arguments as key=value, got {pair!r}")
        overrides[key] = yaml.safe_load(value)
    return overrides


def model_overrides(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="model constructor arguments")


def json_output(parser: argparse.ArgumentParser, help: str = "print JSON instead of a table") -> None:
    parser.add_argument("--json", action="store_true", help=help)


def device(parser: argparse.ArgumentParser, *short: str, default="cpu", help: str = "torch device (cpu or cuda)") -> None:
    parser.add_argument(*short, "--device", default=default, help=help)


def seed(parser: argparse.ArgumentParser, help: str = None) -> None:
    parser.add_argument("--seed", type=int, default=0, help=help)


def workers(parser: argparse.ArgumentParser, default=None, help: str = "processes (default: all cores)") -> None:
    parser.add_argument("--workers", type=int, default=default, help=help)


def n_src(parser: argparse.ArgumentParser, **kwargs) -> None:
    kwargs.setdefault("type", int)
    kwargs.setdefault("default", 2)
    parser.add_argument("--n-src", **kwargs)


def sample_rate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sample-rate", type=int, default=8000)


def exp_dir(parser: argparse.ArgumentParser, help: str = "experiment folder") -> None:
    parser.add_argument("--exp-dir", required=True, help=help)


def dry_run(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="print what would run, run nothing")


def wav_root(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--wav-root", required=True, help="the converted WSJ0 tree (holding wsj0/si_tr_s/...)")


def backend_precision(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", choices=("torch", "onnxruntime"), default="torch",
                        help="run the model in eager torch (default) or in ONNX Runtime (pip install 'asteroid-deepmask[onnx]'; "
                        "an exported .onnx file runs there)")
    parser.add_argument("--precision", choices=("fp32", "bf16", "int8"), default="fp32",
                        help="fp32 (default); bf16: torch autocast, on CPUs that run bf16 LSTMs; int8: dynamic quantisation")
