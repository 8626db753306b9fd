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
    voices.add_argument("--out-dir", required=True, help="corpus root: speakers/{tr,cv,tt,xt}/<speaker>/*.wav, manifest.csv, ...")
    voices.add_argument("--debs-dir", default=None, help="a folder of ready .deb files (default: apt-get download into OUT_DIR/debs)")
    options.seed(voices, help="seed of the speaker-group split")
    options.sample_rate(voices)
    voices.add_argument("--packages", nargs="+", default=None, help="a subset of the allow-list (default: all of it)")
    voices.add_argument("--heldout-packages", nargs="*", default=None,
                        help="packages held out of training and validation whole, as the cross-corpus test split xt "
                        "(default: fillets-ng-data-nl hedgewars-data; give none for no xt)")
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
    convert.add_argument("--sph2pipe", default=None, help="a sph2pipe binary, or its source archive (sph2pipe_v2.5.tar.gz) to compile "
                         "(default: sph2pipe on PATH, else compiled from the downloaded sources)")
    options.workers(convert)
    convert.set_defaults(func=_wsj0_convert)

    create = commands.add_parser("wsj0mix-create", help="wsj0-2mix / wsj0-3mix (8 kHz, min) from the standard lists")
    options.wav_root(create)
    create.add_argument("--out-dir", required=True, help="corpus root: {n}speakers/wav8k/min/{tr,cv,tt}/...")
    options.n_src(create, required=True, choices=(2, 3), default=None)
    create.add_argument("--lists", default=None, help="MERL's mixture lists: a folder, the zip, or its URL (default: download)")
    options.workers(create)
    create.set_defaults(func=_wsj0mix_create)

    whamr = commands.add_parser("whamr-create", help="WHAMR! with its official scripts, in an environment where their pyroomacoustics 0.3.1 runs")
    options.wav_root(whamr)
    whamr.add_argument("--out-dir", required=True, help="WHAMR! root: wav8k/min/{tr,cv,tt}/...")
    whamr.add_argument("--work-dir", required=True, help="where downloads and the scripts go")
    whamr.add_argument("--scripts", default=None, help="WHAMR! scripts: folder, .tar.gz or URL (default: download)")
    whamr.add_argument("--noise", default=None, help="WHAM! noise: folder, zip or URL (default: download, 17 GB)")
    whamr.add_argument("--script-python", default=None, help="a Python that runs the scripts (pyroomacoustics 0.3.1, numpy < 1.24); "
                       "default: the one of --env-dir, made when missing")
    whamr.add_argument("--env-dir", default=None, help="the scripts' virtual environment (default: WORK_DIR/whamr-env)")
    whamr.set_defaults(func=_whamr_create)

    libri = commands.add_parser(
        "librimix-create", help="Libri2Mix / Libri3Mix (8 or 16 kHz, min or max) from LibriSpeech, WHAM! noise and the official metadata",
        description="Without --librispeech-dir, LibriSpeech's subsets are downloaded (resumable, md5-checked) into WORK_DIR.",
    )
    libri.add_argument("--librispeech-dir", default=None, help="a LibriSpeech copy (holding dev-clean/, test-clean/, ...)")
    libri.add_argument("--work-dir", default=None, help="where downloads go when --librispeech-dir or --noise is not given")
    libri.add_argument("--metadata", default=None, help="the official metadata: a LibriMix clone, its metadata/ or metadata/Libri{n}Mix (libri{n}mix_dev-clean.csv, ...), "
                       "or the LibriMix repository's zip or its URL (default: downloaded from GitHub into WORK_DIR)")
    libri.add_argument("--out-dir", required=True, help="root of Libri{n}Mix/wav{8k,16k}/{min,max}/...")
    options.n_src(libri)
    options.sample_rate(libri)
    libri.add_argument("--mode", choices=("min", "max"), default="min")
    libri.add_argument("--subsets", nargs="+", default=["dev", "test", "train-100"],
                       help="of train-360 train-100 dev test (dynamic mixing needs dev test only)")
    libri.add_argument("--noise", default=None,
                       help="WHAM! noise: folder, zip, URL, or 'download' (the official URL, 17 GB); without it only the clean task is made")
    options.workers(libri)
    libri.set_defaults(func=_librimix_create)

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
    from ..data.prep.voices.splits import HELDOUT_PACKAGES

    heldout = HELDOUT_PACKAGES if args.heldout_packages is None else args.heldout_packages
    summary = build_voices_corpus(args.out_dir, debs_dir=args.debs_dir, seed=args.seed, sample_rate=args.sample_rate,
                                  packages=args.packages, heldout_packages=heldout)
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

    print(convert_wsj0_tree(args.wsj0_root, args.out_dir, tools_dir=args.tools_dir, workers=args.workers, sph2pipe=args.sph2pipe))


def _wsj0mix_create(args: argparse.Namespace) -> None:
    from ..data.prep.wsj0mix import create_wsj0mix

    print(create_wsj0mix(args.wav_root, args.lists, args.out_dir, args.n_src, workers=args.workers))


def _whamr_create(args: argparse.Namespace) -> None:
    from ..data.prep import whamr

    work_dir = Path(args.work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    scripts = whamr.fetch_whamr_scripts(work_dir, args.scripts)
    noise = whamr.fetch_wham_noise(work_dir, args.noise)
    print(whamr.create_whamr(scripts, args.wav_root, noise, args.out_dir, python=args.script_python,
                             env_dir=args.env_dir or work_dir / "whamr-env"))


def _whamr_metadata(args: argparse.Namespace) -> None:
    from ..data.prep.whamr import write_whamr_metadata

    print(write_whamr_metadata(args.whamr_dir, args.json_dir))


def _librimix_create(args: argparse.Namespace) -> None:
    from ..data.prep import librimix, whamr

    needed = [librimix.SUBSETS[s] for s in args.subsets]
    local = args.librispeech_dir and (not args.noise or Path(args.noise).is_dir()) and args.metadata and Path(args.metadata).is_dir()
    if not local and args.work_dir is None:
        raise ValueError("--work-dir is needed to download LibriSpeech, WHAM! noise or the LibriMix metadata "
                         "(or give --librispeech-dir, a --noise folder and a --metadata folder).")
    libri = args.librispeech_dir or librimix.fetch_librispeech(args.work_dir, needed)
    noise = whamr.fetch_wham_noise(args.work_dir, None if args.noise == "download" else args.noise) if args.noise else None
    metadata = librimix.fetch_librimix_metadata(args.work_dir, args.n_src, args.metadata)
    csvs = librimix.create_librimix(libri, metadata, args.out_dir, args.n_src, args.sample_rate, args.mode,
                                    args.subsets, wham_dir=noise, workers=args.workers)
    for subset, csv_path in csvs.items():
        print(f"{subset}: {csv_path.parent}")
