"""The paper's Tables 1-3 as a grid of recipe runs, and their results in the paper's layout.

Each row is one experiment of a recipe (``egs/wsj0-2mix``, ``egs/wsj0-3mix``, ``egs/whamr``), named
by its tag; :func:`run_grid` trains and evaluates the rows (stages 3-5 of the recipe, once its data
stages are done), :func:`collect_tables` reads ``exp/{tag}/eval/final_metrics.json`` back and puts
the paper's numbers beside ours.
"""
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from ..complexity import count_complexity
from ..models import DeepMaskBaseModel
from .runner import run_unless_done

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GridRow:
    table: str
    name: str
    recipe: str
    tag: str
    args: Dict[str, str] = field(default_factory=dict)
    # The paper's SI-SDRi and SDRi (dB); None where it reports none.
    paper_si_sdri: Optional[float] = None
    paper_sdri: Optional[float] = None


def _table1() -> List[GridRow]:
    paper = {(2, "relu"): 16.3, (2, "linear"): 15.9, (4, "relu"): 17.4, (4, "linear"): 16.3,
             (8, "relu"): 17.4, (8, "linear"): 16.4, (16, "relu"): 17.8, (16, "linear"): 16.5}  # fmt: skip
    rows = []
    for (p, act), si_sdri in paper.items():
        args = {"model": "overseparation", "n_outputs": str(p), "mask_act": act}
        rows.append(GridRow("1", f"P = {p}, {'ReLU' if act == 'relu' else 'linear'}", "wsj0-2mix", f"t1_p{p}_{act}", args, si_sdri))
    return rows


def _table2() -> List[GridRow]:
    models = [
        ("Baseline (6 DPRNN blocks)", "baseline", {"model": "baseline"}, (16.3, 16.5), (10.0, 11.0)),
        ("+P = 16", "p16", {"model": "overseparation", "n_outputs": "16"}, (17.8, 18.0), (10.7, 11.6)),
        ("+MLP (S)", "mlp_s", {"model": "deepmask", "mlp_hidden": "16"}, (17.5, 17.7), (10.3, 11.3)),
        ("+MLP (L)", "mlp_l", {"model": "deepmask", "mlp_hidden": "64"}, (18.0, 18.1), (10.6, 11.5)),
        ("Baseline (9 DPRNN blocks)", "baseline9", {"model": "baseline", "n_repeats": "9"}, (17.2, 17.4), (10.2, 10.8)),
        ("Baseline (12 DPRNN blocks)", "baseline12", {"model": "baseline", "n_repeats": "12"}, (17.3, 17.6), (10.4, 11.0)),
    ]
    rows = []
    for name, tag, args, wsj0, whamr in models:
        rows.append(GridRow("2", name, "wsj0-2mix", f"t2_{tag}", args, *wsj0))
        rows.append(GridRow("2", name, "whamr", f"t2_{tag}", args, *whamr))
    return rows


def _table3() -> List[GridRow]:
    return [
        GridRow("3", "Baseline", "wsj0-3mix", "t3_baseline", {"model": "baseline"}, 14.6, 14.9),
        GridRow("3", "+MLP (L)", "wsj0-3mix", "t3_mlp_l", {"model": "deepmask", "mlp_hidden": "64"}, 15.5, 15.7),
    ]


PAPER_GRID: List[GridRow] = _table1() + _table2() + _table3()


def select_rows(tables: Sequence[str], recipes: Optional[Sequence[str]] = None) -> List[GridRow]:
    rows = [r for r in PAPER_GRID if r.table in tables and (not recipes or r.recipe in recipes)]
    if not rows:
        raise ValueError(f"No grid rows for tables {list(tables)} and recipes {list(recipes or [])}: tables are 1, 2, 3.")
    return rows


def row_command(row: GridRow, egs_dir, recipe_args: Sequence[str] = (), stage: int = 3, stop_stage: int = 5) -> List[str]:
    """The recipe command of one row (run from the recipe's folder)."""
    command = ["bash", str(Path(egs_dir) / row.recipe / "run.sh"), "--stage", str(stage), "--stop_stage", str(stop_stage)]
    command += ["--tag", row.tag]
    for key, value in row.args.items():
        command += [f"--{key}", value]
    return command + list(recipe_args)


def run_grid(rows: Sequence[GridRow], egs_dir, recipe_args: Sequence[str] = (), dry_run: bool = False, **stages) -> List[dict]:
    """Run each row's recipe in turn (a finished row is skipped: its final_metrics.json exists)."""
    results = []
    for row in rows:
        recipe_dir = Path(egs_dir) / row.recipe
        command = row_command(row, egs_dir, recipe_args, **stages)
        metrics_file = recipe_dir / "exp" / row.tag / "eval" / "final_metrics.json"
        status, _ = run_unless_done(command, recipe_dir, metrics_file, f"Table {row.table}, {row.recipe}, {row.name}", dry_run)
        results.append({"row": row, "command": command, "status": status})
    return results


def collect_tables(rows: Sequence[GridRow], egs_dir, seconds: float = 4.0) -> List[dict]:
    """Each row with our SI-SDRi / SDRi (None if not run yet), params and MACs, and the paper's numbers."""
    collected = []
    for row in rows:
        exp = Path(egs_dir) / row.recipe / "exp" / row.tag
        metrics_file = exp / "eval" / "final_metrics.json"
        metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}
        cost = {}
        if (exp / "best_model.pth").is_file():
            cost = count_complexity(DeepMaskBaseModel.from_pretrained(str(exp / "best_model.pth")), seconds)
        collected.append({
            "table": row.table, "name": row.name, "recipe": row.recipe, "tag": row.tag,
            "si_sdri": metrics.get("si_sdri"), "sdri": metrics.get("sdri"), "n_utterances": metrics.get("n_utterances"),
            "paper_si_sdri": row.paper_si_sdri, "paper_sdri": row.paper_sdri,
            "params_m": cost.get("params_m"), "macs_g": cost.get("macs_g"),
        })  # fmt: skip
    return collected


def format_tables(collected: Sequence[dict]) -> str:
    """Markdown, one table per paper table, ours beside the paper's ("-": not run yet)."""

    def num(value, digits=1):
        return "-" if value is None else f"{value:.{digits}f}"

    lines = []
    for table in sorted({c["table"] for c in collected}):
        lines += [f"Table {table}", "", "| Model | Data | SI-SDRi (dB) | paper | SDRi (dB) | paper | Params (M) | MACs (G) |"]
        lines.append("|---|---|---|---|---|---|---|---|")
        for c in (c for c in collected if c["table"] == table):
            lines.append(
                f"| {c['name']} | {c['recipe']} | {num(c['si_sdri'], 2)} | {num(c['paper_si_sdri'])} | {num(c['sdri'], 2)} "
                f"| {num(c['paper_sdri'])} | {num(c['params_m'], 2)} | {num(c['macs_g'], 2)} |"
            )
        lines.append("")
    return "\n".join(lines)
