"""The ``asteroid-deepmask`` command."""
import argparse
import json
import logging
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


def _benchmark(args: argparse.Namespace) -> None:
    from .benchmark import time_training_step

    if args.grouping:
        from .grouping_benchmark import format_grouping_table, run_grouping_benchmark

        rows = run_grouping_benchmark(batch_size=args.batch_size, seconds=args.seconds, num_threads=args.threads,
                                      log=lambda line: print(line, file=sys.stderr, flush=True))
        print(json.dumps(rows, indent=2, default=str) if args.json else format_grouping_table(rows))
        return
    if args.loader:
        from .loader_benchmark import format_loader_result, run_loader_benchmark

        result = run_loader_benchmark(args.loader, batch_size=args.batch_size, segment=args.seconds, n_batches=args.steps,
                                      precisions=args.precision or ("32", "bf16"), device=args.device, conf_path=args.loader_conf)
        print(json.dumps(result, indent=2) if args.json else format_loader_result(result))
        return
    if args.inference:
        from .benchmark import run_inference_benchmark

        setups = {"both": ("plain", "tuned"), "all": ("plain", "glibc", "tuned")}.get(args.setup, (args.setup,))
        rows = run_inference_benchmark(rounds=args.steps, setups=setups, training_steps=args.training_steps,
                                       separate_cases=not args.no_separate)
        print("CPU benchmark. Inference time: median over rounds, models interleaved in one process; peak RSS: a "
              "fresh process per case; training: median of the steps after the first. Setups: plain (python and torch "
              "defaults), glibc (mallopt alone), tuned (asteroid_deepmask.runtime).\n")
        key = lambda r: (r["setup"], r["case"].replace(", torch.compile", ""), r["seconds"], r["rate"])
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
        return
    kwargs = _parse_overrides(args.overrides)
    if args.device == "cpu":
        from .recipes.train import check_cpu_precision

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


def _separate(args: argparse.Namespace) -> None:
    from .inference import collect_inputs, separate_files
    from .models import DeepMaskBaseModel

    model = DeepMaskBaseModel.from_pretrained(args.model)
    inputs = collect_inputs(args.inputs)
    if not inputs:
        raise FileNotFoundError(f"No audio files in {' '.join(args.inputs)}.")
    chunk = None if args.chunk_seconds <= 0 else args.chunk_seconds
    results = separate_files(
        model, inputs, args.out_dir, resample=args.resample, channels=args.channels, chunk_seconds=chunk,
        hop_seconds=args.hop_seconds, force=args.force, device=args.device,
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

    from .models import DeepMaskBaseModel

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


def _tts_tools(args: argparse.Namespace) -> None:
    from .data.tts import install_tts_tools, require_tts_tools

    if args.install:
        install_tts_tools()
    require_tts_tools()
    print("espeak-ng and flite are installed.")


def _corpus(args: argparse.Namespace) -> None:
    from .data import generate_corpus

    sizes = {"tr": args.n_train, "cv": args.n_valid, "tt": args.n_test}
    for directory in generate_corpus(args.out_dir, args.n_src, sizes, seed=args.seed, workers=args.workers):
        print(directory)


def _voices(args: argparse.Namespace) -> None:
    from .data.voices import build_voices_corpus, format_table

    summary = build_voices_corpus(args.out_dir, debs_dir=args.debs_dir, seed=args.seed, sample_rate=args.sample_rate,
                                  packages=args.packages)
    if summary.get("up_to_date"):
        print(f"{args.out_dir} is already complete with these settings (voices.json): nothing done.\n")
    print(format_table(summary["table"]))


def _speaker_mixtures(args: argparse.Namespace) -> None:
    from .data import write_wsj0mix_metadata
    from .data.speakers import write_speaker_mixtures

    out = write_speaker_mixtures(args.speakers, args.out_dir, args.n_src, args.n_mixtures, seed=args.seed,
                                 sample_rate=args.sample_rate, seconds=args.seconds)
    print(write_wsj0mix_metadata(out, args.json_dir, args.n_src) if args.json_dir else out)


def _wsj0_convert(args: argparse.Namespace) -> None:
    from .data import wsj0

    print(wsj0.convert_wsj0_tree(args.wsj0_root, args.out_dir, tools_dir=args.tools_dir, workers=args.workers))


def _wsj0mix_create(args: argparse.Namespace) -> None:
    from .data import wsj0

    print(wsj0.create_wsj0mix(args.wav_root, args.lists, args.out_dir, args.n_src, workers=args.workers))


def _whamr_create(args: argparse.Namespace) -> None:
    from .data import whamr

    work_dir = Path(args.work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    scripts = whamr.fetch_whamr_scripts(work_dir, args.scripts)
    noise = whamr.fetch_wham_noise(work_dir, args.noise)
    print(whamr.create_whamr(scripts, args.wav_root, noise, args.out_dir, python=args.script_python))


def _whamr_metadata(args: argparse.Namespace) -> None:
    from .data.whamr import write_whamr_metadata

    print(write_whamr_metadata(args.whamr_dir, args.json_dir))


def _egs_dir(value: Optional[str]) -> Path:
    egs = Path(value) if value else Path(__file__).resolve().parents[1] / "egs"
    if not (egs / "wsj0-2mix" / "run.sh").is_file():
        raise SystemExit(f"error: no recipes in {egs}: pass --egs-dir (the egs/ folder of a clone of this project)")
    return egs


def _grid(args: argparse.Namespace, recipe_args: List[str]) -> None:
    from .recipes.grid import run_grid, select_rows

    rows = select_rows(args.table, args.recipe)
    for result in run_grid(rows, _egs_dir(args.egs_dir), recipe_args, dry_run=args.dry_run):
        print(f"[{result['status']}] (cd egs/{result['row'].recipe} && {' '.join(result['command'][1:])})")


def _study(args: argparse.Namespace) -> None:
    from .recipes.study import StudyBudget, run_study, select_study_rows

    budget = StudyBudget(args.epochs, args.steps_per_epoch, args.segment)
    demo_dir = _egs_dir(args.egs_dir) / "demo"
    for result in run_study(select_study_rows(args.rows), args.seeds, demo_dir, args.exp_root, args.json_dir, budget,
                            python=sys.executable, dry_run=args.dry_run):
        print(f"[{result['status']}] {result['row'].name}, seed {result['seed']}: {' '.join(result['command'])}")


def _study_report(args: argparse.Namespace) -> None:
    from .recipes.study import select_study_rows, write_study_report

    print(write_study_report(select_study_rows(args.rows), args.exp_root, args.out_dir, args.seeds))


def _tables(args: argparse.Namespace) -> None:
    from .recipes.grid import collect_tables, format_tables, select_rows

    collected = collect_tables(select_rows(args.table, args.recipe), _egs_dir(args.egs_dir))
    print(json.dumps(collected, indent=2) if args.json else format_tables(collected))


def _metadata(args: argparse.Namespace) -> None:
    from .data import split_dir, write_wsj0mix_metadata
    from .data.corpus import SPLITS

    for n_src in args.n_src:
        for split in SPLITS:
            json_dir = write_wsj0mix_metadata(
                split_dir(args.corpus_dir, n_src, split), split_dir(args.json_dir, n_src, split), n_src
            )
            print(json_dir)


def _train(args: argparse.Namespace, extra: List[str]) -> None:
    from .recipes.train import conf_with_overrides, train

    print(train(conf_with_overrides(args.conf, extra), args.exp_dir))


def _evaluate(args: argparse.Namespace) -> None:
    from .recipes.evaluate import evaluate

    exp_dir = Path(args.exp_dir)
    conf = yaml.safe_load((exp_dir / "conf.yml").read_text())
    test_dir = args.test_dir or conf["data"]["test_dir"]
    final = evaluate(
        exp_dir / "best_model.pth",
        test_dir,
        exp_dir / ("eval_oracle_grouping" if args.oracle_grouping else "eval"),
        n_src=conf["data"]["n_src"],
        n_examples=args.n_examples,
        max_utterances=args.max_utterances,
        device=args.device,
        data_conf=conf["data"],
        workers=args.workers,
        oracle_grouping=args.oracle_grouping,
    )
    print(json.dumps(final, indent=2))


def _report(args: argparse.Namespace) -> None:
    from .recipes.report import write_report

    report = write_report(args.exp_dir)
    print(report.read_text())
    print(f"Written: {report}")


def _publish(args: argparse.Namespace) -> None:
    from .recipes.publish import publish

    notes = Path(args.notes).read_text() if args.notes else None
    print(publish(args.exp_dir, args.name, args.out_dir, notes=notes, hub_layout=args.hub_layout).read_text())


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

    sep = commands.add_parser(
        "separate", help="separate audio files with a model (shipped name, file, URL or Hugging Face id)",
        description="Writes OUT_DIR/{input stem}_s{k}.wav per source, at the input's sample rate (float wav).",
    )
    sep.add_argument("model", help="shipped name (e.g. deepmask-demo-2src), model file, URL or Hugging Face id")
    sep.add_argument("inputs", nargs="+", help="audio files, globs or folders (searched recursively)")
    sep.add_argument("-o", "--out-dir", required=True)
    sep.add_argument("--device", default="cpu")
    sep.add_argument("--resample", action=argparse.BooleanOptionalAction, default=True,
                     help="resample inputs at another rate to the model's and back (default: on)")
    sep.add_argument("--channels", choices=("downmix", "separate"), default="downmix",
                     help="multi-channel input: average the channels (default) or separate each one")
    sep.add_argument("--chunk-seconds", type=float, default=8.0, help="chunk length for long files; 0: one pass")
    sep.add_argument("--hop-seconds", type=float, default=None, help="hop between chunks, at least half a chunk (default: a chunk less 1 s, or half a chunk if that is more)")
    sep.add_argument("--force", action="store_true", help="overwrite existing outputs")
    sep.set_defaults(func=_separate)

    infer = commands.add_parser("infer", help="asteroid-infer, with the same arguments, for our models and Asteroid's")
    infer.add_argument("url_or_path", help="shipped name, model file, URL or Hugging Face id")
    infer.add_argument("--files", required=True, nargs="+", help="wav files, lists, folders or globs")
    infer.add_argument("-f", "--force-overwrite", action="store_true")
    infer.add_argument("-r", "--resample", action="store_true", help="resample inputs at another rate")
    infer.add_argument("-w", "--ola-window", type=int, default=None, help="overlap-add window (samples); default: none")
    infer.add_argument("--ola-hop", type=int, default=None, help="overlap-add hop (samples); default: window // 2")
    infer.add_argument("--ola-window-type", default="hann")
    infer.add_argument("--ola-no-reorder", action="store_true")
    infer.add_argument("-o", "--output-dir", default=None)
    infer.add_argument("-d", "--device", default=None)
    infer.set_defaults(func=_infer)

    bench = commands.add_parser("benchmark", help="time training steps of a model (paper size by default) on random data")
    bench.add_argument("--model", action="append", help="baseline, overseparation or deepmask; repeat for several (default: baseline and deepmask)")
    bench.add_argument("overrides", nargs="*", metavar="key=value", help="model constructor arguments")
    bench.add_argument("--batch-size", type=int, default=4)
    bench.add_argument("--seconds", type=float, default=4.0, help="segment length (default: the paper's 4 s)")
    bench.add_argument("--steps", type=int, default=10)
    bench.add_argument("--device", default="cpu", help="cpu or cuda")
    bench.add_argument("--precision", action="append", choices=("32", "bf16", "16"),
                       help="fp32 (32) or autocast to bf16 / fp16 as the recipes' precision bf16-mixed / 16-mixed; "
                       "repeat to compare (e.g. --device cuda --precision 32 --precision bf16)")
    bench.add_argument("--json", action="store_true")
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
                       "(default: egs/voices/local/conf.yml of a repository checkout)")
    bench.set_defaults(func=_benchmark)

    tools = commands.add_parser("tts-tools", help="check (and install) the TTS engines of the demo corpus")
    tools.add_argument("--install", action="store_true", help="apt-get install them (root or sudo)")
    tools.set_defaults(func=_tts_tools)

    corpus = commands.add_parser(
        "corpus", help="generate the offline synthetic-speech corpus (wsj0-mix layout)"
    )
    corpus.add_argument("--out-dir", required=True, help="corpus root: {n}speakers/wav8k/min/{tr,cv,tt}/...")
    corpus.add_argument("--n-src", type=int, nargs="+", default=[2], help="speakers per mixture (2, 3 or both)")
    corpus.add_argument("--n-train", type=int, default=2000)
    corpus.add_argument("--n-valid", type=int, default=200)
    corpus.add_argument("--n-test", type=int, default=200)
    corpus.add_argument("--seed", type=int, default=0)
    corpus.add_argument("--workers", type=int, default=None, help="parallel processes (default: all cores)")
    corpus.set_defaults(func=_corpus)

    voices = commands.add_parser(
        "voices", help="build the recorded-human-speech corpus from allow-listed Debian packages (NOTES.md 5a)"
    )
    voices.add_argument("--out-dir", required=True, help="corpus root: speakers/{tr,cv,tt}/<speaker>/*.wav, manifest.csv, ...")
    voices.add_argument("--debs-dir", default=None, help="a folder of ready .deb files (default: apt-get download into OUT_DIR/debs)")
    voices.add_argument("--seed", type=int, default=0, help="seed of the speaker-group split")
    voices.add_argument("--sample-rate", type=int, default=8000)
    voices.add_argument("--packages", nargs="+", default=None, help="a subset of the allow-list (default: all of it)")
    voices.set_defaults(func=_voices)

    mixtures = commands.add_parser(
        "speaker-mixtures", help="a fixed validation/test set (wsj0-mix layout) from a folder of speaker folders"
    )
    mixtures.add_argument("--speakers", required=True, help="ROOT/<speaker>/<clips>, any format soundfile reads")
    mixtures.add_argument("--out-dir", required=True, help="where mix/, s1/, s2/ ... go")
    mixtures.add_argument("--json-dir", default=None, help="also write the json metadata of Asteroid's Wsj0mixDataset here")
    mixtures.add_argument("--n-src", type=int, default=2)
    mixtures.add_argument("--n-mixtures", type=int, default=300)
    mixtures.add_argument("--seed", type=int, default=0)
    mixtures.add_argument("--sample-rate", type=int, default=8000)
    mixtures.add_argument("--seconds", type=float, nargs=2, default=(3.0, 6.0), metavar=("MIN", "MAX"),
                          help="mixture lengths, uniform in [MIN, MAX] seconds")
    mixtures.set_defaults(func=_speaker_mixtures)

    convert = commands.add_parser("wsj0-convert", help="WSJ0's SPHERE files to a wav tree (wsj0/si_tr_s/...)")
    convert.add_argument("--wsj0-root", required=True, help="the WSJ0 (LDC93S6A) disks, or an already-converted wav tree")
    convert.add_argument("--out-dir", required=True, help="where the wav tree goes (unused if --wsj0-root is one)")
    convert.add_argument("--tools-dir", default=None, help="where sph2pipe is built if needed (default: OUT_DIR/../tools)")
    convert.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    convert.set_defaults(func=_wsj0_convert)

    create = commands.add_parser("wsj0mix-create", help="wsj0-2mix / wsj0-3mix (8 kHz, min) from the standard lists")
    create.add_argument("--wav-root", required=True, help="the converted WSJ0 tree (holding wsj0/si_tr_s/...)")
    create.add_argument("--out-dir", required=True, help="corpus root: {n}speakers/wav8k/min/{tr,cv,tt}/...")
    create.add_argument("--n-src", type=int, required=True, choices=(2, 3))
    create.add_argument("--lists", default=None, help="MERL's mixture lists: a folder, the zip, or its URL (default: download)")
    create.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    create.set_defaults(func=_wsj0mix_create)

    whamr = commands.add_parser("whamr-create", help="WHAMR! with its official scripts (they need pyroomacoustics)")
    whamr.add_argument("--wav-root", required=True, help="the converted WSJ0 tree (holding wsj0/si_tr_s/...)")
    whamr.add_argument("--out-dir", required=True, help="WHAMR! root: wav8k/min/{tr,cv,tt}/...")
    whamr.add_argument("--work-dir", required=True, help="where downloads and the scripts go")
    whamr.add_argument("--scripts", default=None, help="WHAMR! scripts: folder, .tar.gz or URL (default: download)")
    whamr.add_argument("--noise", default=None, help="WHAM! noise: folder, zip or URL (default: download, 17 GB)")
    whamr.add_argument("--script-python", default=None, help="the Python that runs the scripts (default: this one)")
    whamr.set_defaults(func=_whamr_create)

    whamr_meta = commands.add_parser("whamr-metadata", help="json files for WhamrDataset / Asteroid's WhamRDataset")
    whamr_meta.add_argument("--whamr-dir", required=True, help="WHAMR! root (holding wav8k/min/...)")
    whamr_meta.add_argument("--json-dir", required=True, help="where to write {tr,cv,tt}/*.json")
    whamr_meta.set_defaults(func=_whamr_metadata)

    grid = commands.add_parser(
        "grid", help="train and evaluate the rows of the paper's Tables 1-3 with the recipes (after their data stages)",
        epilog="Options after the known ones go to every run.sh, e.g. --wsj0mix_dir DIR --devices 4 --strategy ddp.",
    )
    grid.add_argument("--table", nargs="+", default=["1", "2", "3"], choices=["1", "2", "3"])
    grid.add_argument("--recipe", nargs="+", default=None, help="only these recipes (wsj0-2mix, wsj0-3mix, whamr)")
    grid.add_argument("--egs-dir", default=None, help="the recipes' folder (default: this clone's egs/)")
    grid.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    grid.set_defaults(func=_grid, takes_extra=True)

    from .recipes.study import DEFAULT_SEEDS, STUDY_ROWS, StudyBudget

    study = commands.add_parser(
        "study", help="re-test the paper's claims at small scale: every study row x seed with the demo recipe (stages 3-4)",
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
    study.add_argument("--egs-dir", default=None, help="the recipes' folder (default: this clone's egs/)")
    study.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    study.set_defaults(func=_study)

    study_report = commands.add_parser("study-report", help="the study's table, the claims' evidence and plots, from its run folders")
    study_report.add_argument("--exp-root", required=True)
    study_report.add_argument("--out-dir", required=True, help="study.md, study.json and the plots go here")
    study_report.add_argument("--rows", nargs="+", default=None, metavar="ROW")
    study_report.add_argument("--seeds", nargs="+", type=int, default=None, help="default: every seed found")
    study_report.set_defaults(func=_study_report)

    tables = commands.add_parser("tables", help="the grid's results in the paper's layout, the paper's numbers beside")
    tables.add_argument("--table", nargs="+", default=["1", "2", "3"], choices=["1", "2", "3"])
    tables.add_argument("--recipe", nargs="+", default=None)
    tables.add_argument("--egs-dir", default=None)
    tables.add_argument("--json", action="store_true")
    tables.set_defaults(func=_tables)

    metadata = commands.add_parser("metadata", help="write the json files Asteroid's Wsj0mixDataset reads")
    metadata.add_argument("--corpus-dir", required=True, help="a wsj0-mix style root ({n}speakers/wav8k/min/...)")
    metadata.add_argument("--json-dir", required=True, help="where to write {n}speakers/wav8k/min/{split}/*.json")
    metadata.add_argument("--n-src", type=int, nargs="+", default=[2])
    metadata.set_defaults(func=_metadata)

    train = commands.add_parser(
        "train",
        help="train a model from a recipe configuration",
        description="Every key of the configuration file can be overridden as --key value.",
    )
    train.add_argument("--conf", required=True, help="the recipe's conf.yml")
    train.add_argument("--exp-dir", required=True, help="experiment folder (resumes from its last checkpoint)")
    train.set_defaults(func=_train, takes_extra=True)

    evaluate = commands.add_parser("evaluate", help="SI-SDRi / SDRi of a trained experiment on its test set")
    evaluate.add_argument("--exp-dir", required=True)
    evaluate.add_argument("--test-dir", help="json folder of the test set (default: the configuration's)")
    evaluate.add_argument("--n-examples", type=int, default=3, help="example wavs to write")
    evaluate.add_argument("--max-utterances", type=int, default=None)
    evaluate.add_argument("--workers", type=int, default=1, help="processes over the utterances (CPU: up to the core count)")
    evaluate.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    evaluate.add_argument("--oracle-grouping", action="store_true",
                          help="overseparation models: group the P branches with the references' help (an upper bound, "
                          "to measure what the model's own grouping loses); writes EXP_DIR/eval_oracle_grouping")
    evaluate.set_defaults(func=_evaluate)

    report = commands.add_parser("report", help="markdown table and spectrogram figure of an evaluated experiment")
    report.add_argument("--exp-dir", required=True)
    report.set_defaults(func=_report)

    publish = commands.add_parser("publish", help="a model file and a model card from an evaluated experiment")
    publish.add_argument("--exp-dir", required=True)
    publish.add_argument("--name", required=True, help="model name, e.g. deepmask-demo-2src")
    publish.add_argument("--out-dir", required=True, help="where to write NAME.pth and NAME.md")
    publish.add_argument("--notes", help="a markdown file added to the card as its Notes (what the run's files cannot tell)")
    publish.add_argument("--hub-layout", action="store_true",
                         help="write pytorch_model.bin and README.md, a folder to upload to a Hugging Face repo")
    publish.set_defaults(func=_publish)
    return parser


# Commands that run long enough for the CPU runtime set-up (asteroid_deepmask.runtime) to pay.
LONG_RUNNING = {"train", "evaluate", "separate", "infer"}


def main(argv: Optional[List[str]] = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s: %(message)s")
    args, extra = build_parser().parse_known_args(argv)
    if extra and not getattr(args, "takes_extra", False):
        raise SystemExit(f"error: unrecognized arguments: {' '.join(extra)}")
    if args.command in LONG_RUNNING:
        from .runtime import setup

        # Run from the command line, the process may start again with a faster allocator preloaded.
        setup(reexec_argv=["-m", "asteroid_deepmask.cli", *sys.argv[1:]] if argv is None else None)
    try:
        args.func(args, extra) if getattr(args, "takes_extra", False) else args.func(args)
    except (FileNotFoundError, ValueError, RuntimeError) as err:
        # Bad paths and inputs: the message says what was expected; the traceback helps nobody.
        logging.getLogger("asteroid_deepmask").debug("traceback", exc_info=True)
        raise SystemExit(f"error: {err}")


if __name__ == "__main__":
    main()
