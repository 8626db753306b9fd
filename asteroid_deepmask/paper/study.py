"""The paper's four claims (its Sec. 4), re-tested at small scale on the demo's synthetic corpus.

Every run is the demo recipe's training and evaluation (what ``egs/demo/run.sh`` stages 3-4 do,
called in Python with its shipped conf) of one row's model for one seed, with the same budget of
training steps for all: the demo's model size (2 DPRNN blocks, 64 hidden units) except what the
row changes. :func:`run_study` runs what is not
done yet (a finished run has ``eval/final_metrics.json``; a killed one resumes from its last
checkpoint); :func:`collect_runs` reads the run folders back, :func:`summarize` gives mean and
standard deviation over seeds, and :func:`write_study_report` writes the markdown table, the
claims' evidence and the plots.
"""
import json
import logging
import math
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from ..engine.conf import recipe_conf
from ..models import DeepMaskBaseModel
from ..tools.complexity import count_complexity
from .runs import experiment_overrides, run_unless_done, train_command
from .tables import CLAIMS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StudyRow:
    key: str  # run folders are {key}_seed{seed}
    name: str
    args: Dict[str, str] = field(default_factory=dict)  # the demo recipe's options
    n_src: int = 2

    @property
    def n_outputs(self) -> Optional[int]:
        """P of a grouped shallow head (the baseline's is C), for the plot against P; None for an MLP head."""
        if "n_repeats" in self.args or "grouping" in self.args:  # compared on MACs, or with its fixed twin, not on P
            return None
        return {"baseline": self.n_src, "overseparation": int(self.args.get("n_outputs", 0))}.get(self.args.get("model"))

    @property
    def mask_act(self) -> str:
        return self.args.get("mask_act", "relu")  # the demo's default f


def _rows() -> List[StudyRow]:
    rows = [StudyRow("baseline", "Baseline (P = C)", {"model": "baseline"})]
    rows.append(StudyRow("baseline_linear", "P = C, linear", {"model": "baseline", "mask_act": "linear"}))
    for act in ("relu", "linear"):
        for p in (4, 8, 16):
            args = {"model": "overseparation", "n_outputs": str(p), "mask_act": act}
            rows.append(StudyRow(f"p{p}_{act}", f"P = {p}, {'ReLU' if act == 'relu' else 'linear'}", args))
    rows += [
        StudyRow("mlp_s", "MLP (S)", {"model": "deepmask", "mlp_hidden": "16"}),
        StudyRow("mlp_l", "MLP (L)", {"model": "deepmask", "mlp_hidden": "64"}),
        # The paper's deeper separators: 6 -> 9 and 12 blocks; here 2 -> 3 and 4.
        StudyRow("baseline_3blocks", "Baseline, 3 DPRNN blocks", {"model": "baseline", "n_repeats": "3"}),
        StudyRow("baseline_4blocks", "Baseline, 4 DPRNN blocks", {"model": "baseline", "n_repeats": "4"}),
        # Beyond the paper (issue 7): P = 16 grouped per example by the loss, reference-free at test time.
        StudyRow("p16_relu_dynamic", "P = 16, ReLU, dynamic grouping",
                 {"model": "overseparation", "n_outputs": "16", "mask_act": "relu", "grouping": "dynamic"}),
        StudyRow("3src_baseline", "3 speakers: baseline", {"model": "baseline"}, n_src=3),
        StudyRow("3src_mlp_l", "3 speakers: MLP (L)", {"model": "deepmask", "mlp_hidden": "64"}, n_src=3),
    ]
    return rows


STUDY_ROWS: List[StudyRow] = _rows()
DEFAULT_SEEDS = (0, 1, 2)


@dataclass(frozen=True)
class StudyBudget:
    """The same for every run: ``epochs`` x ``steps_per_epoch`` training steps on ``segment`` s."""

    epochs: int = 3
    steps_per_epoch: int = 200
    segment: float = 1.0

    def train_args(self) -> List[str]:
        # Early stopping off, so that every run gets the whole budget; the best checkpoint by
        # validation loss is evaluated, as in the recipes.
        return ["--limit_train_batches", str(self.steps_per_epoch), "--segment", str(self.segment),
                "--early_stop_patience", "0", "--checkpoint_every_n_steps", str(self.steps_per_epoch)]  # fmt: skip


def select_study_rows(keys: Optional[Sequence[str]] = None) -> List[StudyRow]:
    if not keys:
        return list(STUDY_ROWS)
    by_key = {row.key: row for row in STUDY_ROWS}
    unknown = [k for k in keys if k not in by_key]
    if unknown:
        raise ValueError(f"Unknown study rows {unknown}: expected some of {list(by_key)}.")
    return [by_key[k] for k in keys]


def run_dir(exp_root, row: StudyRow, seed: int) -> Path:
    return Path(exp_root) / f"{row.key}_seed{seed}"


def run_overrides(row: StudyRow, seed: int, json_dir, budget: StudyBudget) -> List[str]:
    """The demo conf's ``--key value`` overrides of one row and seed (what run.sh stages 3-4 pass)."""
    options = {**row.args, "n_src": row.n_src, "seed": seed, "max_epochs": budget.epochs}
    return experiment_overrides(options, Path(json_dir) / f"{row.n_src}speakers" / "wav8k" / "min", budget.train_args())


def run_study(rows: Sequence[StudyRow], seeds: Sequence[int], exp_root, json_dir, budget: StudyBudget = StudyBudget(),
              dry_run: bool = False, conf_path=None) -> List[dict]:
    """Train and evaluate every (row, seed) that is not done yet, seed-major: the first seed of
    every row comes before the second, so that a study stopped early still compares all rows.

    ``json_dir`` holds the demo corpus's metadata (``{2,3}speakers/wav8k/min/{tr,cv,tt}``);
    ``conf_path`` defaults to the demo recipe's shipped conf."""
    exp_root, json_dir = Path(exp_root).resolve(), Path(json_dir).resolve()
    conf_path = conf_path or recipe_conf("demo")
    results = []
    for seed in seeds:
        for row in rows:
            folder = run_dir(exp_root, row, seed)
            overrides = run_overrides(row, seed, json_dir, budget)
            status, wall_time = run_unless_done(conf_path, overrides, folder, f"Study {row.name}, seed {seed}", dry_run)
            if wall_time is not None:
                (folder / "study_run.json").write_text(json.dumps({"wall_time_s": wall_time, "budget": asdict(budget)}))
            results.append({"row": row, "seed": seed, "command": train_command(conf_path, folder, overrides), "status": status})
    return results


def collect_runs(rows: Sequence[StudyRow], exp_root, seeds: Optional[Sequence[int]] = None) -> List[dict]:
    """One dict per finished run found under ``exp_root``: metrics, params/MACs (4 s input), wall time."""
    runs, costs = [], {}
    for row in rows:
        for folder in sorted(Path(exp_root).glob(f"{row.key}_seed*")):
            seed = int(folder.name.rsplit("_seed", 1)[1])
            metrics_file = folder / "eval" / "final_metrics.json"
            if (seeds is not None and seed not in seeds) or not metrics_file.is_file():
                continue
            metrics = json.loads(metrics_file.read_text())
            if row.key not in costs:  # the same for every seed of a row
                costs[row.key] = count_complexity(DeepMaskBaseModel.from_pretrained(str(folder / "best_model.pth")))
            wall = json.loads((folder / "study_run.json").read_text())["wall_time_s"] if (folder / "study_run.json").is_file() else None
            runs.append({"row": row.key, "seed": seed, "si_sdri": metrics["si_sdri"], "sdri": metrics["sdri"],
                         "n_utterances": metrics.get("n_utterances"), "params_m": costs[row.key]["params_m"],
                         "macs_g": costs[row.key]["macs_g"], "wall_time_s": wall, "device": _training_device(folder)})  # fmt: skip
    return runs


def _training_device(folder: Path) -> Optional[str]:
    """What trained the run, from the published model's record: the GPU's name, or "CPU"."""
    record = folder / "best_model.json"
    if not record.is_file():
        return None
    training = json.loads(record.read_text()).get("training", {})
    return training.get("gpu") or ("CPU" if training.get("accelerator") == "CPUAccelerator" else None)


def summarize(rows: Sequence[StudyRow], runs: Sequence[dict]) -> List[dict]:
    """Per row: mean, standard deviation (n - 1) and count of SI-SDRi and SDRi over its seeds."""
    summary = []
    for row in rows:
        own = [r for r in runs if r["row"] == row.key]
        if not own:
            continue
        entry = {"row": row, "n_seeds": len(own), "params_m": own[0]["params_m"], "macs_g": own[0]["macs_g"]}
        for metric in ("si_sdri", "sdri"):
            values = [r[metric] for r in own]
            entry[metric] = statistics.mean(values)
            entry[f"{metric}_std"] = statistics.stdev(values) if len(values) > 1 else float("nan")
        # Wall time is a property of the hardware, not of the model: kept apart per training device.
        walls: Dict[str, List[float]] = {}
        for r in own:
            if r["wall_time_s"] is not None:
                walls.setdefault(r.get("device") or "unknown device", []).append(r["wall_time_s"])
        entry["wall_time_s"] = {device: statistics.mean(values) for device, values in sorted(walls.items())}
        summary.append(entry)
    return summary


def compare(summary: Sequence[dict], better: str, worse: str, metric: str = "si_sdri") -> Optional[dict]:
    """``better`` minus ``worse`` with its standard error (Welch); ``z`` = difference / error.

    The rule the report states: ``|z| >= 2`` is a difference in the sign of ``z``, otherwise none
    can be told apart from the spread over seeds.
    """
    by_key = {s["row"].key: s for s in summary}
    if better not in by_key or worse not in by_key:
        return None
    a, b = by_key[better], by_key[worse]
    if a["n_seeds"] < 2 or b["n_seeds"] < 2:
        return None
    difference = a[metric] - b[metric]
    error = math.sqrt(a[f"{metric}_std"] ** 2 / a["n_seeds"] + b[f"{metric}_std"] ** 2 / b["n_seeds"])
    z = difference / error if error > 0 else math.copysign(math.inf, difference) if difference else 0.0
    return {"better": better, "worse": worse, "difference": difference, "error": error, "z": z}


def claim_evidence(summary: Sequence[dict], keys: Optional[Sequence[str]] = None) -> List[dict]:
    """For each claim, each comparison with its difference, error and whether it agrees; with
    ``keys``, only the comparisons between those rows (a study of some rows tests only those)."""
    evidence = []
    for claim, comparisons in CLAIMS:
        lines = []
        for a, b, expected in comparisons:
            if keys is not None and not (a in keys and b in keys):
                continue
            result = compare(summary, a, b)
            if result is None:
                seeds = {s["row"].key: s["n_seeds"] for s in summary}
                missing = "not run yet" if a not in seeds or b not in seeds else "fewer than 2 seeds yet"
                lines.append({"a": a, "b": b, "expected": expected, "result": None, "agrees": None, "missing": missing})
                continue
            agrees = {"=": abs(result["z"]) < 2, ">": result["z"] >= 2, ">=": result["z"] > -2}[expected]
            lines.append({"a": a, "b": b, "expected": expected, "result": result, "agrees": agrees})
        if lines:
            evidence.append({"claim": claim, "comparisons": lines})
    return evidence


def format_study_table(summary: Sequence[dict]) -> str:
    lines = ["| Model | speakers | seeds | SI-SDRi (dB) | SDRi (dB) | Params (M) | MACs (G, 4 s) | wall time per run (min, by training device) |",
             "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for s in summary:
        wall = ", ".join(f"{seconds / 60:.1f} ({device})" for device, seconds in s["wall_time_s"].items()) or "-"
        spread = lambda metric: f"{s[metric]:.2f}" + (f" ± {s[metric + '_std']:.2f}" if s["n_seeds"] > 1 else "")  # noqa: E731
        lines.append(
            f"| {s['row'].name} | {s['row'].n_src} | {s['n_seeds']} | {spread('si_sdri')} | {spread('sdri')} "
            f"| {s['params_m']:.3f} | {s['macs_g']:.2f} | {wall} |"
        )
    return "\n".join(lines)


def format_evidence(evidence: Sequence[dict]) -> str:
    names = {row.key: row.name for row in STUDY_ROWS}
    lines = []
    for item in evidence:
        lines += [f"**{item['claim']}**", ""]
        for c in item["comparisons"]:
            expectation = {">": "above", "=": "equal to", ">=": "not below"}[c["expected"]]
            label = f"{names.get(c['a'], c['a'])} vs {names.get(c['b'], c['b'])} (expected: {expectation})"
            if c["result"] is None:
                lines.append(f"- {label}: {c['missing']}")
                continue
            r = c["result"]
            lines.append(f"- {label}: {r['difference']:+.2f} ± {r['error']:.2f} dB (z = {r['z']:+.1f}): "
                         f"{'agrees' if c['agrees'] else 'does not agree'}")  # fmt: skip
        lines.append("")
    return "\n".join(lines)


def plot_study(summary: Sequence[dict], out_dir) -> List[Path]:
    """SI-SDRi against P (ReLU and linear f) and SI-SDRi against MACs (all 2-speaker models)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    two = [s for s in summary if s["row"].n_src == 2]
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for act, marker in (("relu", "o"), ("linear", "s")):
        points = sorted((s["row"].n_outputs, s["si_sdri"], s["si_sdri_std"]) for s in two if s["row"].n_outputs and s["row"].mask_act == act)
        if points:
            p, mean, std = zip(*points)
            ax.errorbar(p, mean, yerr=std, marker=marker, capsize=3, label=f"f = {'ReLU' if act == 'relu' else 'linear'}")
    for key, style in (("mlp_s", "--"), ("mlp_l", ":")):
        for s in two:
            if s["row"].key == key:
                ax.axhline(s["si_sdri"], linestyle=style, color="gray", label=s["row"].name)
    ax.set_xscale("log", base=2)
    ax.set_xticks([2, 4, 8, 16], ["2", "4", "8", "16"])
    ax.set_xlabel("P (outputs, grouped into C = 2)")
    ax.set_ylabel("SI-SDRi (dB), mean ± std over seeds")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    against_p = out_dir / "si_sdri_vs_p.png"
    fig.savefig(against_p, dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for s in two:
        ax.errorbar(s["macs_g"], s["si_sdri"], yerr=s["si_sdri_std"], marker="o", capsize=3)
        ax.annotate(s["row"].name, (s["macs_g"], s["si_sdri"]), fontsize=7, xytext=(4, 3), textcoords="offset points")
    ax.set_xlabel("MACs (G) on 4 s of 8 kHz audio")
    ax.set_ylabel("SI-SDRi (dB), mean ± std over seeds")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    against_macs = out_dir / "si_sdri_vs_macs.png"
    fig.savefig(against_macs, dpi=120)
    plt.close(fig)
    return [against_p, against_macs]


def plot_study_masks(exp_root, out_dir, seed: int = 0) -> Optional[dict]:
    """The heads' figure from the seed's P = 16 (ReLU) and MLP (L) runs, on their first evaluation example."""
    from ..reporting.report import plot_head_masks

    p16, mlp = (Path(exp_root) / f"{key}_seed{seed}" for key in ("p16_relu", "mlp_l"))
    example = p16 / "eval" / "examples" / "ex_0"
    if not all(p.is_file() for p in (p16 / "best_model.pth", mlp / "best_model.pth", example / "mixture.wav")):
        return None
    load = lambda folder: DeepMaskBaseModel.from_pretrained(str(folder / "best_model.pth"))  # noqa: E731
    png = plot_head_masks(load(p16), load(mlp), example, Path(out_dir) / "head_masks.png")
    return {"png": png, "example": example.relative_to(exp_root).as_posix()}


def write_study_report(rows: Sequence[StudyRow], exp_root, out_dir, seeds: Optional[Sequence[int]] = None) -> Path:
    """``study.md`` (table, evidence per claim), ``study.json`` (every run) and the two plots in ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    runs = collect_runs(rows, exp_root, seeds)
    if not runs:
        raise FileNotFoundError(f"No finished study runs in {exp_root}: run `asteroid-deepmask study` first.")
    summary = summarize(rows, runs)
    evidence = claim_evidence(summary, [row.key for row in rows])
    plot_study(summary, out_dir)
    masks_figure = plot_study_masks(exp_root, out_dir)
    budget = next((json.loads(p.read_text())["budget"] for p in Path(exp_root).glob("*/study_run.json")), None)
    text = [
        "<!-- Generated by `asteroid-deepmask study-report`; do not edit by hand. -->",
        "",
        format_study_table(summary),
        "",
        (f"Budget per run: {budget['epochs']} epochs of {budget['steps_per_epoch']} steps (batch 4) on {budget['segment']:g} s "
         "segments, the best checkpoint by validation loss evaluated.") if budget else "",
        "Mean ± standard deviation over seeds; SI-SDRi and SDRi on the unseen-voice test split.",
        "A comparison agrees with a claim of a difference (above) when the difference is at least 2 standard errors",
        "(Welch) in the claimed direction, with a claim of equality when it is within 2 standard errors, and with",
        "\"not below\" when it is not 2 standard errors below.",
        "",
        format_evidence(evidence),
        "![SI-SDRi against P](si_sdri_vs_p.png)",
        "",
        "![SI-SDRi against MACs](si_sdri_vs_macs.png)",
        "",
    ]
    if masks_figure:
        text += [f"The heads on one test mixture ({masks_figure['example']}): the 16 branch masks of P = 16 (ReLU), "
                 "their group sums, and the MLP (L) masks, seed 0 of each, in the encoder's filter domain.",
                 "", f"![Masks]({masks_figure['png'].name})", ""]  # fmt: skip
    (out_dir / "study.json").write_text(json.dumps({"runs": runs, "evidence": evidence}, indent=2, default=str))
    report = out_dir / "study.md"
    report.write_text("\n".join(text))
    return report
