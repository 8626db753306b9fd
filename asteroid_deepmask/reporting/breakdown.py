"""Test metrics per source package (or speaker), and learning curves, for the report and model cards.

Fixed sets made by :func:`~asteroid_deepmask.data.prep.speaker_mixtures.write_speaker_mixtures` record each
mixture's speakers (``mixtures.csv``); a corpus built by ``asteroid-deepmask voices`` maps each
speaker to its package (``manifest.csv``). A mixture counts once under each package of its speakers.
"""
import json
from pathlib import Path
from typing import List, Optional

import pandas as pd
import yaml

from ..data.prep.voices.splits import HELDOUT_DESCRIPTION, HELDOUT_SPLIT
from ..engine.evaluate import TEST_SET_FILE, extra_test_sets

TEST_SET_TITLES = {HELDOUT_SPLIT: HELDOUT_DESCRIPTION}


def _mixture_folder(exp_dir: Path, eval_dir: Path) -> Optional[Path]:
    """The mixtures' folder of the test set evaluated in ``eval_dir`` (its test_set.json, else the configuration's)."""
    marker = eval_dir / TEST_SET_FILE
    if marker.is_file():
        test_dir = json.loads(marker.read_text())["test_dir"]
    else:
        test_dir = yaml.safe_load((exp_dir / "conf.yml").read_text())["data"]["test_dir"]
    mix_json = Path(test_dir) / "mix.json"
    if not mix_json.is_file():
        return None
    first = json.loads(mix_json.read_text())[0][0]
    return Path(first).parent.parent


def speaker_packages(mixture_dir: Path) -> dict:
    """speaker -> package from the voices corpus's manifest, when the test speakers come from one."""
    marker = mixture_dir / "corpus.json"
    if not marker.is_file():
        return {}
    speakers_dir = json.loads(marker.read_text()).get("settings", {}).get("speakers_dir")  # absent: not a speaker-folder set
    manifest = Path(speakers_dir).parent.parent / "manifest.csv" if speakers_dir else None
    if manifest is None or not manifest.is_file():
        return {}
    table = pd.read_csv(manifest, usecols=["speaker", "package"]).drop_duplicates("speaker")
    return dict(zip(table["speaker"], table["package"]))


def per_package_metrics(exp_dir, eval_dir=None) -> Optional[pd.DataFrame]:
    """Mean SI-SDRi / SDRi per package (per speaker when no manifest says the package) of the test set
    evaluated in ``eval_dir`` (default: ``exp_dir/eval``), or None when the test set does not record its speakers."""
    exp_dir = Path(exp_dir)
    eval_dir = Path(eval_dir) if eval_dir is not None else exp_dir / "eval"
    mixture_dir = _mixture_folder(exp_dir, eval_dir)
    if mixture_dir is None or not (mixture_dir / "mixtures.csv").is_file():
        return None
    mixtures = pd.read_csv(mixture_dir / "mixtures.csv")
    metrics = pd.read_csv(eval_dir / "all_metrics.csv").merge(mixtures, left_on="utterance", right_on="name")
    packages = speaker_packages(mixture_dir)
    columns = [c for c in mixtures.columns if c.endswith("_speaker")]
    if not columns:  # e.g. the TTS demo corpus, whose mixtures.csv names voices
        return None
    rows = []
    for _, row in metrics.iterrows():
        for package in sorted({packages.get(row[c], row[c]) for c in columns}):
            rows.append({"package": package, "si_sdri": row["si_sdri"], "sdri": row["sdri"]})
    table = pd.DataFrame(rows).groupby("package").agg(mixtures=("si_sdri", "size"), si_sdri=("si_sdri", "mean"), sdri=("sdri", "mean"))
    return table.reset_index()


def format_package_table(table: pd.DataFrame) -> str:
    lines = ["| package | mixtures | SI-SDRi (dB) | SDRi (dB) |", "|---|---|---|---|"]
    lines += [f"| {r.package} | {r.mixtures} | {r.si_sdri:.2f} | {r.sdri:.2f} |" for r in table.itertuples()]
    return "\n".join(lines)


def test_set_sections(exp_dir) -> List[str]:
    """Markdown lines for each named test set the experiment was evaluated on (``eval_{name}``, e.g. the
    cross-corpus ``xt``): its means and its per-package table."""
    lines = []
    for name, eval_dir in extra_test_sets(exp_dir).items():
        final = json.loads((eval_dir / "final_metrics.json").read_text())
        lines += [
            f"## Test set `{name}` ({TEST_SET_TITLES.get(name, 'another test set')})", "",
            "| SI-SDRi (dB) | SDRi (dB) | SI-SDR (dB) | SDR (dB) | utterances |", "|---|---|---|---|---|",
            f"| {final['si_sdri']:.2f} | {final['sdri']:.2f} | {final['si_sdr']:.2f} | {final['sdr']:.2f} | {final['n_utterances']} |", "",
        ]  # fmt: skip
        packages = per_package_metrics(exp_dir, eval_dir)
        if packages is not None:
            lines += ["Per package (a mixture counts under each package of its speakers):", "", format_package_table(packages), ""]
        lines += [f"Per-utterance metrics: `{eval_dir.name}/all_metrics.csv`.", ""]
    return lines


def learning_curve(exp_dir) -> Optional[pd.DataFrame]:
    """Per epoch: step, training loss (epoch mean), validation loss, from Lightning's CSV log."""
    logs = sorted(Path(exp_dir).glob("logs/version_*/metrics.csv"))
    if not logs:
        return None
    frame = pd.concat([pd.read_csv(path) for path in logs])
    columns = [c for c in ("loss_epoch", "val_loss") if c in frame]
    if "epoch" not in frame or not columns:
        return None
    per_epoch = frame.groupby("epoch").agg({"step": "max", **{c: "last" for c in columns}})
    return per_epoch.dropna(how="all", subset=columns).reset_index()


def plot_learning_curve(curve: pd.DataFrame, png_path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for column, label in (("loss_epoch", "training (epoch mean)"), ("val_loss", "validation")):
        if column in curve:
            ax.plot(curve["step"], -curve[column], marker="o", label=label)
    ax.set_xlabel("training step")
    ax.set_ylabel("SNR with PIT (dB)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(png_path, dpi=120)
    plt.close(fig)
    return Path(png_path)
