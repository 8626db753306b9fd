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
    bench.add_argument("--deploy", action="store_true",
                       help="instead: CPU deployment, torch fp32/bf16/int8 and onnxruntime fp32/int8, on the shipped "
                       "deepmask-voices-2src and the paper-size MLP (L), 4 and 60 s: time, speed ratio to torch fp32, "
                       "real-time factor, peak memory, output SNR against fp32: 4 and 60 s in one pass, and 60 s in separate's 8 s chunks "
                       "(--steps rounds; 3x for 4 s)")
    bench.add_argument("--test-set", action="append", default=[], metavar="NAME=JSON_DIR",
                       help="with --deploy: also the shipped model's SI-SDRi per case on this wsj0-mix style json "
                       "folder (mix.json, s1.json, ...); repeat for several (e.g. real=... synthetic=...)")
    bench.add_argument("--limit", type=int, default=None, help="with --test-set: the first N mixtures only")
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
    elif args.deploy:
        _deploy(args)
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


def _deploy(args: argparse.Namespace) -> None:
    from ..tools.bench.deploy import run_deploy_benchmark

    test_sets = {}
    for item in args.test_set:
        name, sep, folder = item.partition("=")
        if not sep or not name or not folder:
            raise SystemExit(f"error: expected --test-set NAME=JSON_DIR, got {item!r}")
        test_sets[name] = folder
    result = run_deploy_benchmark(rounds=args.steps, test_sets=test_sets, limit=args.limit,
                                  log=lambda line: print(line, file=sys.stderr, flush=True))
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"CPU deployment benchmark (torch {result['torch']}, {result['threads']} threads, CPU capability "
          f"{result['cpu_capability']}). Time: median of the rounds, cases interleaved in one process per model and "
          "length; speed-up: torch fp32's time over the case's, in that run; peak RSS: a fresh process per case; "
          "output SNR: the worst source's, against torch fp32, on the timing input (noise); chunks: separate's "
          "overlap-add, as a file is separated.\n")
    print("| model | input | backend | precision | time (s) | speed-up | real-time factor | peak RSS (MB) | output SNR (dB) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in result["timing"]:
        source = f"{r['seconds']:g} s" + (f", {r['chunk_seconds']:g} s chunks" if r.get("chunk_seconds") else "")
        head = f"| {r['model']} | {source} | {r['backend']} | {r['precision']} |"
        if "refused" in r:
            print(f"{head} refused: {r['refused'].split(' (')[0]} | - | - | - | - |")
            continue
        snr = "identical" if r["output_snr_db"] > 200 else f"{r['output_snr_db']:.1f}"
        print(f"{head} {r['median_s']:.3f} | {r['speedup']:.2f}x | {r['rtf']:.4f} | {r['peak_rss_mb']:.0f} | {snr} |")
    if result["quality"]:
        print("\n| model | test set | backend | precision | SI-SDRi (dB) | change from torch fp32 (dB) |")
        print("|---|---|---|---|---|---|")
        for r in result["quality"]:
            print(f"| {r['model']} | {r['test_set']} | {r['backend']} | {r['precision']} | {r['si_sdri']:.3f} | {r['delta_db']:+.3f} |")


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
