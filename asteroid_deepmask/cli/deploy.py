"""Subcommands that deploy models: ``export`` (ONNX, TorchScript)."""
import argparse

from .models import MODEL_HELP


def register(commands) -> None:
    export = commands.add_parser(
        "export", help="export a model to ONNX (dynamic batch and length) or TorchScript",
        description="Writes one file that runs without this package: ONNX (opset 17; input 'mixture' (batch, time) "
        "float32 at the model's rate, output 'sources' (batch, n_src, time); sample rate, n_src, the model's "
        "arguments and the package version in its metadata) for ONNX Runtime, or TorchScript for libtorch.",
    )
    export.add_argument("model", help=MODEL_HELP)
    export.add_argument("--format", choices=("onnx", "torchscript"), default="onnx")
    export.add_argument("-o", "--output", required=True, help="the file to write (.onnx, or .pt for TorchScript)")
    export.add_argument("--int8", action="store_true", help="ONNX only: also quantise it (ONNX Runtime int8 dynamic quantisation)")
    export.add_argument("--check", action=argparse.BooleanOptionalAction, default=True,
                        help="run the exported file on a random input and compare with eager torch (default: on)")
    export.set_defaults(func=_export)


def _export(args: argparse.Namespace) -> None:
    from ..deploy.backends import verify_export
    from ..deploy.export import export_model
    from ..models import DeepMaskBaseModel

    model = DeepMaskBaseModel.from_pretrained(args.model)
    path = export_model(model, args.output, args.format, int8=args.int8)
    print(f"Wrote {path} ({path.stat().st_size / 2**20:.1f} MB, {args.format}{' int8' if args.int8 else ''}).")
    if args.check:
        report = verify_export(model, path, args.format, "int8" if args.int8 else "fp32")
        runtime = "ONNX Runtime" if args.format == "onnx" else "TorchScript"
        print(f"Check: {runtime} against eager torch fp32 on a {tuple(report['input_shape'])} input (another batch and "
              f"length than the export's): output SNR {report['snr_db']:.1f} dB.")
