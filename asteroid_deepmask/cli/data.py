"""Subcommands that make corpora and their metadata: the recipes' data stages (0-2)."""
import argparse
from pathlib import Path

from . import options


def register(commands) -> None:
    tools = commands.add_parser("tts-tools", help="check (and install) the TTS engines of the demo corpus")
    tools.add_argument("--install", action="store_true", help="apt-get install them (root or sudo)")
    tools.set_defaults(func=_tts_tools)

    corpus = commands.add_parser("corpus", help="generate the offline synthetic-speech corpus (wsj0-mix layout)")
    corpus.add_argument("--out-dir", required=True, help="corpus root: {n}speakers/wav8k/min/{tr,cv,tt}/...")
    options.n_src(corpus, nargs="+", default=[2], help="speakers per mixture (2, 3 or both)")
    corpus.add_argument("--n-train", type=int, default=2000)
    corpus.add_argument("--n-valid", type=int, default=200)
    corpus.add_argument("--n-test", type=int, default=200)
    options.seed(corpus)
    options.workers(corpus, help="parallel processes (default: all cores)")
    corpus.set_defaults(func=_corpus)

    voices = commands.add_parser(
        "voices", help="build the recorded-human-speech corpus from allow-listed Debian packages (NOTES.md 5a)"
    )
    voices.add_argument("--out-dir", required=True, help="corpus root: speakers/{tr,cv,tt}/<speaker>/*.wav, manifest.csv, ...")
    voices.add_argument("--debs-dir", default=None, help="a folder of ready .deb files (default: apt-get download into OUT_DIR/debs)")
    options.seed(voices, help="seed of the speaker-group split")
    options.sample_rate(voices)
    voices.add_argument("--packages", nargs="+", default=None, help="a subset of the allow-list (default: all of it)")
    voices.set_defaults(func=_voices)

    mixtures = commands.add_parser(
        "speaker-mixtures", help="a fixed validation/test set (wsj0-mix layout) from a folder of speaker folders"
    )
    mixtures.add_argument("--speakers", required=True, help="ROOT/<speaker>/<clips>, any format soundfile reads")
    mixtures.add_argument("--out-dir", required=True, help="where mix/, s1/, s2/ ... go")
    mixtures.add_argument("--json-dir", default=None, help="also write the json metadata of Asteroid's Wsj0mixDataset here")
    options.n_src(mixtures)
    mixtures.add_argument("--n-mixtures", type=int, default=300)
    options.seed(mixtures)
    options.sample_rate(mixtures)
    mixtures.add_argument("--seconds", type=float, nargs=2, default=(3.0, 6.0), metavar=("MIN", "MAX"),
                          help="mixture lengths, uniform in [MIN, MAX] seconds")
    mixtures.set_defaults(func=_speaker_mixtures)

    metadata = commands.add_parser("metadata", help="write the json files Asteroid's Wsj0mixDataset reads")
    metadata.add_argument("--corpus-dir", required=True, help="a wsj0-mix style root ({n}speakers/wav8k/min/...)")
    metadata.add_argument("--json-dir", required=True, help="where to write {n}speakers/wav8k/min/{split}/*.json")
    options.n_src(metadata, nargs="+", default=[2])
    metadata.set_defaults(func=_metadata)

    convert = commands.add_parser("wsj0-convert", help="WSJ0's SPHERE files to a wav tree (wsj0/si_tr_s/...)")
    convert.add_argument("--wsj0-root", required=True, help="the WSJ0 (LDC93S6A) disks, or an already-converted wav tree")
    convert.add_argument("--out-dir", required=True, help="where the wav tree goes (unused if --wsj0-root is one)")
    convert.add_argument("--tools-dir", default=None, help="where sph2pipe is built if needed (default: OUT_DIR/../tools)")
    options.workers(convert)
    convert.set_defaults(func=_wsj0_convert)

    create = commands.add_parser("wsj0mix-create", help="wsj0-2mix / wsj0-3mix (8 kHz, min) from the standard lists")
    options.wav_root(create)
    create.add_argument("--out-dir", required=True, help="corpus root: {n}speakers/wav8k/min/{tr,cv,tt}/...")
    options.n_src(create, required=True, choices=(2, 3), default=None)
    create.add_argument("--lists", default=None, help="MERL's mixture lists: a folder, the zip, or its URL (default: download)")
    options.workers(create)
    create.set_defaults(func=_wsj0mix_create)

    whamr = commands.add_parser("whamr-create", help="WHAMR! with its official scripts (they need pyroomacoustics)")
    options.wav_root(whamr)
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


def _tts_tools(args: argparse.Namespace) -> None:
    from ..data.prep.tts import install_tts_tools, require_tts_tools

    if args.install:
        install_tts_tools()
    require_tts_tools()
    print("espeak-ng and flite are installed.")


def _corpus(args: argparse.Namespace) -> None:
    from ..data.prep.synthetic import generate_corpus

    sizes = {"tr": args.n_train, "cv": args.n_valid, "tt": args.n_test}
    for directory in generate_corpus(args.out_dir, args.n_src, sizes, seed=args.seed, workers=args.workers):
        print(directory)


def _voices(args: argparse.Namespace) -> None:
    from ..data.prep.voices import build_voices_corpus, format_table

    summary = build_voices_corpus(args.out_dir, debs_dir=args.debs_dir, seed=args.seed, sample_rate=args.sample_rate,
                                  packages=args.packages)
    if summary.get("up_to_date"):
        print(f"{args.out_dir} is already complete with these settings (voices.json): nothing done.\n")
    print(format_table(summary["table"]))


def _speaker_mixtures(args: argparse.Namespace) -> None:
    from ..data.layout import write_wsj0mix_metadata
    from ..data.prep.speaker_mixtures import write_speaker_mixtures

    out = write_speaker_mixtures(args.speakers, args.out_dir, args.n_src, args.n_mixtures, seed=args.seed,
                                 sample_rate=args.sample_rate, seconds=args.seconds)
    print(write_wsj0mix_metadata(out, args.json_dir, args.n_src) if args.json_dir else out)


def _metadata(args: argparse.Namespace) -> None:
    from ..data.layout import SPLITS, split_dir, write_wsj0mix_metadata

    for n_src in args.n_src:
        for split in SPLITS:
            json_dir = write_wsj0mix_metadata(
                split_dir(args.corpus_dir, n_src, split), split_dir(args.json_dir, n_src, split), n_src
            )
            print(json_dir)


def _wsj0_convert(args: argparse.Namespace) -> None:
    from ..data.prep.wsj0 import convert_wsj0_tree

    print(convert_wsj0_tree(args.wsj0_root, args.out_dir, tools_dir=args.tools_dir, workers=args.workers))


def _wsj0mix_create(args: argparse.Namespace) -> None:
    from ..data.prep.wsj0mix import create_wsj0mix

    print(create_wsj0mix(args.wav_root, args.lists, args.out_dir, args.n_src, workers=args.workers))


def _whamr_create(args: argparse.Namespace) -> None:
    from ..data.prep import whamr

    work_dir = Path(args.work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    scripts = whamr.fetch_whamr_scripts(work_dir, args.scripts)
    noise = whamr.fetch_wham_noise(work_dir, args.noise)
    print(whamr.create_whamr(scripts, args.wav_root, noise, args.out_dir, python=args.script_python))


def _whamr_metadata(args: argparse.Namespace) -> None:
    from ..data.prep.whamr import write_whamr_metadata

    print(write_whamr_metadata(args.whamr_dir, args.json_dir))
