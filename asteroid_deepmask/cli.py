"""The ``asteroid-deepmask`` command."""
import argparse
import json
import sys
from pathlib import Path
from typing import List, Optional

import yaml


def _parse_overrides(pairs: List[str]) -> dict:
    """``["mlp_hidden=16", "gated_head=true"]`` -> ``{"mlp_hidden": 16, "gated_head": True}`` (YAML scalars)."""
    overrides = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"error: expected model arguments as key=value, got {pair!r}")
        overrides[key] = yaml.safe_load(value)
    return overrides


def _complexity(args: argparse.Namespace) -> None:
    from .complexity import count_complexity, format_table, paper_table
    from .models import make_model

    if args.model is None:
        if args.overrides:
            raise SystemExit("error: key=value model arguments need --model")
        rows = paper_table(args.seconds)
    else:
        kwargs = _parse_overrides(args.overrides)
        try:
            model = make_model(args.model, **kwargs)
        except (TypeError, ValueError) as err:
            raise SystemExit(f"error: cannot build {args.model!r} with {kwargs}: {err}")
        name = args.model + "".join(f" {k}={v}" for k, v in kwargs.items())
        rows = [{"name": name, "model": args.model, "kwargs": kwargs, **count_complexity(model, args.seconds)}]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(f"Params and MACs counted by thop on one {args.seconds:g} s mono input (batch 1).\n")
        print(format_table(rows))


def _demo(args: argparse.Namespace) -> None:
    import numpy as np
    import soundfile as sf
    import torch

    from .models import make_model

    # Placeholder until the offline demo recipe exists: it shows the plumbing (build, separate
    # through Asteroid's API, write files), not separation quality.
    torch.manual_seed(args.seed)
    sample_rate = 8000
    t = np.arange(4 * sample_rate) / sample_rate
    voice_a = sum(np.sin(2 * np.pi * k * 140 * (t + 0.002 * np.sin(2 * np.pi * 5 * t))) / k for k in range(1, 8))
    voice_b = sum(np.sin(2 * np.pi * k * 230 * t) / k for k in range(1, 8)) * (1 + np.sin(2 * np.pi * 3 * t)) / 2
    mixture = (0.3 * (voice_a / np.abs(voice_a).max() + voice_b / np.abs(voice_b).max())).astype("float32")
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    mix_path = out_dir / "mixture.wav"
    sf.write(mix_path, mixture, sample_rate)
    model = make_model(args.model, n_src=2).eval()
    model.separate(str(mix_path), force_overwrite=True)
    written = sorted(out_dir.glob("mixture_est*.wav"))
    print(f"Separated {mix_path} with a randomly initialised {type(model).__name__} (placeholder demo):")
    for path in written:
        print(f"  {path}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="asteroid-deepmask",
        description="Overseparation-grouping and deep mask estimation for Asteroid's DPRNN-TasNet.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    complexity = commands.add_parser(
        "complexity",
        help="params and MACs (thop) of the paper's Table 1/2 rows, or of one model",
        description="Without --model: the paper's Table 1 and 2 rows, ours beside the paper's. "
        "With --model: one model, configured by key=value arguments "
        "(e.g. --model deepmask mlp_hidden=32 n_repeats=4).",
    )
    complexity.add_argument("--model", help="baseline, overseparation, deepmask, or an asteroid.models class name")
    complexity.add_argument("overrides", nargs="*", metavar="key=value", help="model constructor arguments")
    complexity.add_argument("--seconds", type=float, default=4.0, help="input length (default: 4, as the paper)")
    complexity.add_argument("--json", action="store_true", help="print JSON instead of a table")
    complexity.set_defaults(func=_complexity)

    demo = commands.add_parser(
        "demo",
        help="separate a generated test signal with a randomly initialised model (placeholder)",
    )
    demo.add_argument("--out-dir", default="demo_out", help="where to write the mixture and estimates")
    demo.add_argument("--model", default="deepmask", help="baseline, overseparation or deepmask")
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(func=_demo)
    return parser


def main(argv: Optional[List[str]] = None) -> None:
    args = build_parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main(sys.argv[1:])
