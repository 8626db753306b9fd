"""Publish an experiment: its model file and a model card (Hugging Face compatible README)."""
import json
import shutil
from pathlib import Path

import yaml

from ..data.prep.voices import format_table
from ..tools.complexity import count_complexity
from .breakdown import format_package_table, per_package_metrics, test_set_sections
from .report import load_evaluated_experiment

MAX_SHIPPED_MB = 20


HUB_MODEL_FILE = "pytorch_model.bin"  # what Asteroid's cached_download fetches from a Hugging Face repo


def publish(exp_dir, name: str, out_dir, notes: str = None, hub_layout: bool = False) -> Path:
    """Copy ``exp_dir/best_model.pth`` to ``out_dir/{name}.pth`` and write ``out_dir/{name}.md``.

    The card has the configuration, the corpus and seed, training time and hardware, the test
    metrics and the command that made the run (``exp_dir/command.txt``, written by the recipes);
    ``notes`` (markdown) adds what the run's files cannot tell, e.g. how the corpus was made.
    ``hub_layout`` names them ``pytorch_model.bin`` and ``README.md`` instead: upload that folder
    to a Hugging Face repo and ``from_pretrained("user/repo")`` loads it.
    """
    exp_dir, out_dir = Path(exp_dir), Path(out_dir)
    model, metrics, infos = load_evaluated_experiment(exp_dir)
    model_path = exp_dir / "best_model.pth"
    size_mb = model_path.stat().st_size / 2**20
    if size_mb > MAX_SHIPPED_MB:
        raise ValueError(f"{model_path} is {size_mb:.1f} MB; models shipped with the package must be <= {MAX_SHIPPED_MB} MB.")
    if not (exp_dir / "conf.yml").is_file():
        raise FileNotFoundError(f"{exp_dir / 'conf.yml'} is missing: publish needs the run's configuration.")
    conf = yaml.safe_load((exp_dir / "conf.yml").read_text())
    command = (exp_dir / "command.txt").read_text().strip() if (exp_dir / "command.txt").is_file() else "(not recorded)"
    corpus_file = exp_dir / "corpus.json"  # written by training, from the data it read
    corpus = json.loads(corpus_file.read_text()) if corpus_file.is_file() else None
    cost = count_complexity(model)
    voices = _voices_corpus(corpus)
    packages = per_package_metrics(exp_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(model_path, out_dir / (HUB_MODEL_FILE if hub_layout else f"{name}.pth"))
    card = [
        "---",
        "library_name: asteroid",
        f"license: {_licence_tag(conf, voices)}",
        "tags: [asteroid, audio, speech-separation, asteroid-deepmask, " + type(model).__name__ + "]",
        "---",
        "",
        f"# {name}",
        "",
        _description(type(model).__name__, conf, voices),
        "",
        "```python",
        "import asteroid_deepmask",
        f"model = asteroid_deepmask.{type(model).__name__}.from_pretrained({name!r})",
        "```",
        "",
        "## Test metrics (unseen voices, the corpus's `tt` split)",
        "",
        "| SI-SDRi (dB) | SDRi (dB) | SI-SDR (dB) | SDR (dB) | utterances |",
        "|---|---|---|---|---|",
        f"| {metrics['si_sdri']:.2f} | {metrics['sdri']:.2f} | {metrics['si_sdr']:.2f} | {metrics['sdr']:.2f} | {metrics['n_utterances']} |",
        "",
        *(["Per package of the test speakers (a mixture counts under each package of its speakers):", "",
           format_package_table(packages), ""] if packages is not None else []),
        *test_set_sections(exp_dir),
        *(_voices_sections(voices) if voices else []),
        "## Model",
        "",
        f"{cost['params_m']:.3f} M parameters, {cost['macs_g']:.2f} GMACs on 4 s (thop).",
        "",
        "```json",
        json.dumps(model.get_model_args(), indent=2),
        "```",
        "",
        "## Data and training",
        "",
        f"- Corpus: {json.dumps(corpus) if corpus else '(not recorded by the training run)'}",
        f"- Training: {json.dumps(conf['training'])}",
        f"- Optimiser: {json.dumps(conf['optim'])}",
        f"- Run: {json.dumps(infos.get('training', {}))}",
        f"- Software: {json.dumps(infos.get('software_versions', {}))}",
        "",
        *(["## Notes", "", notes.strip(), ""] if notes else []),
        "## Command",
        "",
        "```bash",
        command,
        "```",
    ]
    card_path = out_dir / ("README.md" if hub_layout else f"{name}.md")
    card_path.write_text("\n".join(card) + "\n")
    return card_path


def _voices_corpus(corpus: dict):
    """The ``voices.json`` of the recorded-speech corpus the run trained on, if it trained on one."""
    root = ((corpus or {}).get("train_speakers") or {}).get("root")
    marker = Path(root).parent.parent / "voices.json" if root else None
    return {"dir": marker.parent, **json.loads(marker.read_text())} if marker and marker.is_file() else None


def _trained_on_librimix(data: dict) -> bool:
    return "librimix" in (data.get("dataset"), data.get("fixed_sets") if data.get("dataset") == "speakers" else None)


def _licence_tag(conf: dict, voices) -> str:
    """The card's licence tag: that of the training audio where it binds the weights."""
    if voices:  # weights trained on GPL audio: the question is stated in the card, not settled by a tag
        return "other"
    if _trained_on_librimix(conf["data"]):  # LibriSpeech CC BY 4.0; WHAM! noise CC BY-NC 4.0
        return "cc-by-nc-4.0" if conf["data"].get("task") == "sep_noisy" else "cc-by-4.0"
    return "mit"


def _description(class_name: str, conf: dict, voices) -> str:
    n_src, rate = conf["data"]["n_src"], conf["data"]["sample_rate"]
    if voices:
        return (f"A `{class_name}` from asteroid-deepmask, trained with the real-voices recipe (`egs/voices`) on "
                "recorded human speech from the Debian packages of NOTES.md 5a, mixed on the fly (dynamic mixing, "
                f"augmented), {rate // 1000} kHz, {n_src} speakers per mixture; tested on speakers never heard in "
                "training or validation. The corpus is small (about 5 h of training speech, most speakers a few "
                "minutes, many languages, few English speakers): expect it to work less well on far-field, noisy "
                "or very different recordings.")
    data = conf["data"]
    if _trained_on_librimix(data):
        dynamic = data.get("dataset") == "speakers"
        noisy = data.get("task") == "sep_noisy"
        return (f"A `{class_name}` from asteroid-deepmask, trained with the LibriMix recipe (`egs/librimix`, task "
                f"{data.get('task', 'sep_clean')}) on Libri{n_src}Mix at {rate // 1000} kHz"
                + (f", its mixtures drawn on the fly from the LibriSpeech speakers of `{data['train_speakers']}`" if dynamic else "")
                + "; tested on the official Libri{n}Mix test set. LibriSpeech is CC BY 4.0 (attribution)".format(n=n_src)
                + ("; WHAM! noise is CC BY-NC 4.0, so this noisy-task model is for non-commercial use." if noisy else "."))
    if data.get("dataset") == "speakers":
        return (f"A `{class_name}` from asteroid-deepmask, trained on mixtures made on the fly from the speaker "
                f"folder `{conf['data']['train_speakers']}`, {rate // 1000} kHz, {n_src} speakers per mixture.")
    return (f"A `{class_name}` from asteroid-deepmask, trained with the offline demo recipe (`egs/demo`) on "
            f"synthetic speech (espeak-ng and flite voices), {rate // 1000} kHz, {n_src} speakers per mixture. TTS "
            "speech is flatter than human speech: expect lower numbers on real recordings.")


def _voices_sections(voices: dict) -> list:
    """The corpus sizes per split and package, and the licences, for a model trained on the voices corpus."""
    licences = voices["dir"] / "LICENCES.md"
    text = licences.read_text().split("\n", 1)[1].strip() if licences.is_file() else "(LICENCES.md not found)"
    return ["## Corpus (speakers and minutes per split and package)", "",
            f"Built by `asteroid-deepmask voices` (seed {voices['settings']['seed']}); every clip is listed with its "
            "package, version, path and licence in the corpus's `manifest.csv`.", "",
            format_table(voices["table"]), "", "## Licences of the training audio", "",
            text.replace("\n## ", "\n### "), ""]

