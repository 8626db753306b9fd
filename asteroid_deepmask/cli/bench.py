"""``benchmark``: numbers for this machine (training steps, CPU inference, the voices loader, dynamic grouping)."""
import argparse
import json
import sys

from . import options


def register(commands) -> None:
    bench = commands.add_parser("benchmark", help="time training steps of a model (paper size by default) on random data")
    bench.add_argument("--model", action="append", help="baseline, overseparation or deepmask; repeat for several (default: baseline and deepmask)")
    options.model_overrides(bench)
    bench.add_argument("--batch-size", type=int, default=4)
    bench.add_argument("--seconds", type=float, default=4.0, help="segment length (default: the paper's 4 s)")
    bench.add_argument("--steps", type=int, default=10)
    options.device(bench, help="cpu or cuda")
    bench.add_argument("--precision", action="append", choices=("32", "bf16", "16"),
                       help="fp32 (32) or autocast to bf16 / fp16 as the recipes' precision bf16-mixed / 16-mixed; "
                       "repeat to compare (e.g. --device cuda --precision 32 --precision bf16)")
    options.json_output(bench, help=None)
    bench.add_argument("--inference", action="store_true",
                       help="instead: CPU inference time and peak memory of Asteroid's DPRNNTasNet and ours, 4/60 s, "
                       "and chunked separate on 60/600 s files (--steps rounds)")
    bench.add_argument("--training-steps", type=int, default=0,
                       help="with --inference: also time this many paper-size CPU training steps of our three models")
    bench.add_argument("--setup", choices=("tuned", "plain", "both", "all"), default="tuned",
                       help="with --inference: the package's CPU runtime set-up (tuned), plain python, both, or all "
                       "(plain, glibc mallopt alone, tuned)")
    bench.add_argument("--no-separate", action="store_true", help="with --inference: skip the chunked separate cases")
    bench.add_argument("--grouping", action="store_true",
                       help="instead: one loss step of dynamic grouping (exact and local search) against fixed grouping "
                       "and Asteroid's MixITLossWrapper, P = 4, 8, 16 and C = 2, 3, and local search's gap to exact")
    bench.add_argument("--threads", type=int, default=None, help="with --grouping: torch threads (default: torch's)")
    bench.add_argument("--loader", metavar="SPEAKERS_DIR",
                       help="instead: batches/s of the voices recipe's dynamic-mixing loader (its augment section, 1 worker) "
                       "on SPEAKERS_DIR against training steps/s of the demo-size model, and RSS; --batch-size, --seconds "
                       "and --steps (batches) as given (the recipe: --batch-size 8 --seconds 2)")
    bench.add_argument("--loader-conf", metavar="CONF", default=None,
                       help="with --loader: the recipe conf whose data and augment sections it uses "
                       "(default: the voices recipe's shipped conf)")
    bench.set_defaults(func=_benchmark)


def _benchmark(args: argparse.Namespace) -> None:
    if args.grouping:
        from ..tools.bench.grouping import format_grouping_table, run_grouping_benchmark

        rows = run_grouping_benchmark(batch_size=args.batch_size, seconds=args.seconds, num_threads=args.threads,
                                      log=lambda line: print(line, file=sys.stderr, flush=True))
        print(json.dumps(rows, indent=2, default=str) if args.json else format_grouping_table(rows))
    elif args.loader:
        from ..tools.bench.loader import format_loader_result, run_loader_benchmark

        result = run_loader_benchmark(args.loader, batch_size=args.batch_size, segment=args.seconds, n_batches=args.steps,
                                      precisions=args.precision or ("32", "bf16"), device=args.device, conf_path=args.loader_conf)
        print(json.dumps(result, indent=2) if args.json else format_loader_result(result))
    elif args.inference:
        _inference(args)
    else:
        _training(args)


def _inference(args: argparse.Namespace) -> None:
    from ..tools.bench.inference import run_inference_benchmark

    setups = {"both": ("plain", "tuned"), "all": ("plain", "glibc", "tuned")}.get(args.setup, (args.setup,))
    rows = run_inference_benchmark(rounds=args.steps, setups=setups, training_steps=args.training_steps,
                                   separate_cases=not args.no_separate)
    print("CPU benchmark. Inference time: median over rounds, models interleaved in one process; peak RSS: a "
          "fresh process per case; training: median of the steps after the first. Setups: plain (python and torch "
          "defaults), glibc (mallopt alone), tuned (asteroid_deepmask.runtime).\n")
    key = lambda r: (r["setup"], r["case"].replace(", torch.compile", ""), r["seconds"], r["rate"])  # noqa: E731
    plain = {key(r)[1:]: r["median_s"] for r in rows if r["setup"] == "plain"}
    reference = {(r["setup"], r["seconds"]): r["median_s"] for r in rows if r["case"].startswith("asteroid")}
    baseline = {(r["setup"], r["seconds"]): r["median_s"] for r in rows if r["case"].startswith("baseline")}
    print("| setup | case | input | time (s) | vs Asteroid | vs baseline | vs plain | real-time factor | peak RSS (MB) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        group = (r["setup"], r["seconds"])
        ratios = ("-", "-") if r["chunked"] or r.get("training") else (f"{r['median_s'] / reference[group]:.3f}", f"{r['median_s'] / baseline[group]:.3f}")
        speedup = f"{plain[key(r)[1:]] / r['median_s']:.2f}x" if r["setup"] != "plain" and key(r)[1:] in plain else "-"
        source = f"{r['seconds']:g} s" + (f" at {r['rate'] // 1000} kHz" if r["rate"] != 8000 else "")
        if r.get("training"):
            source, rtf, rss = f"batch 4 x 4 s (first step {r['warmup_s']:.0f} s)", "-", "-"
        else:
            rtf, rss = f"{r['rtf']:.3f}", f"{r['peak_rss_mb']:.0f}"
        print(f"| {r['setup']} | {r['case']} | {source} | {r['median_s']:.3f} | {ratios[0]} | {ratios[1]} | {speedup} | {rtf} | {rss} |")


def _training(args: argparse.Namespace) -> None:
    from ..tools.bench.training import time_training_step

    kwargs = options.parse_overrides(args.overrides)
    if args.device == "cpu":
        from ..engine.precision import check_cpu_precision

        for precision in args.precision or []:
            check_cpu_precision(precision)
    for model in args.model or ["baseline", "deepmask"]:
        fp32_time = None
        for precision in args.precision or ["32"]:
            result = time_training_step(
                model, args.batch_size, args.seconds, args.steps, device=args.device, precision=precision, **kwargs
            )
            fp32_time = result["median_s"] if precision == "32" else fp32_time
            speedup = f", {fp32_time / result['median_s']:.2f}x fp32" if fp32_time and precision != "32" else ""
            print(json.dumps(result) if args.json else (
                f"{model:15s} {precision:>4s} batch {args.batch_size} x {args.seconds:g} s on {result['device']}: "
                f"{result['median_s']:.3f} s/step (min {result['min_s']:.3f}, max {result['max_s']:.3f}, "
                f"{args.steps} steps{speedup})"
                + (f", peak {result['peak_memory_gb']:.2f} GB" if "peak_memory_gb" in result else "")
            ))
