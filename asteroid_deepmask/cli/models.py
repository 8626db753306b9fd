"""Subcommands that use models as they are: ``complexity``, ``separate``, ``infer``."""
import argparse
import json
import sys
from pathlib import Path

from . import options

MODEL_HELP = "shipped name (e.g. deepmask-voices-2src), model file, URL or Hugging Face id"
SEPARATE_MODEL_HELP = MODEL_HELP + ", or an exported .onnx file (with --backend onnxruntime)"


def register(commands) -> None:
    complexity = commands.add_parser(
        "complexity",
        help="params and MACs (thop) of the paper's Table 1/2 rows, or of one model",
        description="Without --model: the paper's Table 1 and 2 rows, ours beside the paper's. "
        "With --model: one model, configured by key=value arguments "
        "(e.g. --model deepmask mlp_hidden=32 n_repeats=4).",
    )
    complexity.add_argument("--model", help="baseline, overseparation, deepmask, or an asteroid.models class name")
    options.model_overrides(complexity)
    complexity.add_argument("--seconds", type=float, default=4.0, help="input length (default: 4, as the paper)")
    options.json_output(complexity)
    complexity.set_defaults(func=_complexity)

    sep = commands.add_parser(
        "separate", help="separate audio files with a model (shipped name, file, URL or Hugging Face id)",
        description="Writes OUT_DIR/{input stem}_s{k}.wav per source, at the input's sample rate (float wav).",
    )
    sep.add_argument("model", help=SEPARATE_MODEL_HELP)
    sep.add_argument("inputs", nargs="+", help="audio files, globs or folders (searched recursively)")
    sep.add_argument("-o", "--out-dir", required=True)
    options.device(sep)
    options.backend_precision(sep)
    sep.add_argument("--resample", action=argparse.BooleanOptionalAction, default=True,
                     help="resample inputs at another rate to the model's and back (default: on)")
    sep.add_argument("--channels", choices=("downmix", "separate"), default="downmix",
                     help="multi-channel input: average the channels (default) or separate each one")
    sep.add_argument("--chunk-seconds", type=float, default=8.0, help="chunk length for long files; 0: one pass")
    sep.add_argument("--hop-seconds", type=float, default=None, help="hop between chunks, at least half a chunk (default: a chunk less 1 s, or half a chunk if that is more)")
    sep.add_argument("--force", action="store_true", help="overwrite existing outputs")
    sep.set_defaults(func=_separate)

    infer = commands.add_parser("infer", help="asteroid-infer, with the same arguments, for our models and Asteroid's")
    infer.add_argument("url_or_path", help=MODEL_HELP)
    infer.add_argument("--files", required=True, nargs="+", help="wav files, lists, folders or globs")
    infer.add_argument("-f", "--force-overwrite", action="store_true")
    infer.add_argument("-r", "--resample", action="store_true", help="resample inputs at another rate")
    infer.add_argument("-w", "--ola-window", type=int, default=None, help="overlap-add window (samples); default: none")
    infer.add_argument("--ola-hop", type=int, default=None, help="overlap-add hop (samples); default: window // 2")
    infer.add_argument("--ola-window-type", default="hann")
    infer.add_argument("--ola-no-reorder", action="store_true")
    infer.add_argument("-o", "--output-dir", default=None)
    options.device(infer, "-d", default=None, help="torch device (default: cuda if available, else cpu)")
    infer.set_defaults(func=_infer)


def _complexity(args: argparse.Namespace) -> None:
    from ..models import make_model
    from ..paper.tables import paper_complexity_table
    from ..tools.complexity import count_complexity, format_table

    if args.model is None:
        if args.overrides:
            raise SystemExit("error: key=value model arguments need --model")
        rows = paper_complexity_table(args.seconds)
    else:
        kwargs = options.parse_overrides(args.overrides)
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


def _separate(args: argparse.Namespace) -> None:
    from ..deploy import load_separator
    from ..inference import collect_inputs, separate_files

    separator = load_separator(args.model, args.backend, args.precision, args.device)
    inputs = collect_inputs(args.inputs)
    if not inputs:
        raise FileNotFoundError(f"No audio files in {' '.join(args.inputs)}.")
    chunk = None if args.chunk_seconds <= 0 else args.chunk_seconds
    results = separate_files(
        separator, inputs, args.out_dir, resample=args.resample, channels=args.channels, chunk_seconds=chunk,
        hop_seconds=args.hop_seconds, force=args.force,
    )
    failed = [r for r in results if r.error]
    print(f"Separated {len(results) - len(failed)} of {len(results)} files into {args.out_dir}.")
    if failed:
        print(f"{len(failed)} failed:", file=sys.stderr)
        for result in failed:
            print(f"  {result.input}: {result.error}", file=sys.stderr)
        raise SystemExit(1)


def _infer(args: argparse.Namespace) -> None:
    """``asteroid-infer`` with the same arguments and outputs, our models registered and loaded
    with ``weights_only=True`` (shipped names too); the separation itself is Asteroid's."""
    import torch
    from asteroid.dsp.overlap_add import LambdaOverlapAdd
    from asteroid.scripts.asteroid_cli import _process_files_as_list
    from asteroid.separate import separate

    from ..models import DeepMaskBaseModel

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    model = DeepMaskBaseModel.from_pretrained(args.url_or_path)
    if args.ola_window is not None:
        model = LambdaOverlapAdd(
            model, n_src=None, window_size=args.ola_window, hop_size=args.ola_hop,
            # scipy no longer knows Asteroid's default name "hanning".
            window="hann" if args.ola_window_type == "hanning" else args.ola_window_type, reorder_chunks=not args.ola_no_reorder,
        )
    model = model.to(device)
    if args.output_dir:
        Path(args.output_dir).mkdir(parents=True, exist_ok=True)  # Asteroid's separate does not make it
    for path in _process_files_as_list(args.files):
        separate(model, path, force_overwrite=args.force_overwrite, output_dir=args.output_dir, resample=args.resample)
