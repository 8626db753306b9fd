"""The paper's Tables 1-3 as a grid of experiments, and their results in the paper's layout.

Each row (:data:`~.tables.PAPER_GRID`) is one experiment of a recipe (wsj0-2mix, wsj0-3mix,
whamr), named by its tag. :func:`run_grid` trains, evaluates and reports the rows in Python with
the recipe's shipped configuration, once the recipe's data stages have made the json metadata
under ``data_root``; :func:`collect_tables` reads ``{exp_root}/{recipe}/{tag}/eval/final_metrics.json``
back and puts the paper's numbers beside ours.
"""
import json
import logging
from pathlib import Path
from typing import List, Optional, Sequence

from ..engine.conf import recipe_conf
from ..models import DeepMaskBaseModel
from ..tools.complexity import count_complexity
from .runs import experiment_overrides, run_unless_done, train_command
from .tables import PAPER_GRID, GridRow

log = logging.getLogger(__name__)

# Per recipe: its shipped conf, speakers, the json metadata of its data stage under the data root
# (what ``run.sh --stage 2`` writes under its ``--data_root``), and the conf keys its run.sh sets.
RECIPES = {
    "wsj0-2mix": ("wsj0-2mix", 2, "json/2speakers/wav8k/min", {}),
    "wsj0-3mix": ("wsj0-2mix", 3, "json/3speakers/wav8k/min", {}),
    "whamr": ("whamr", 2, "json/whamr", {"targets": "reverberant"}),
}


def select_rows(tables: Sequence[str], recipes: Optional[Sequence[str]] = None) -> List[GridRow]:
    rows = [r for r in PAPER_GRID if r.table in tables and (not recipes or r.recipe in recipes)]
    if not rows:
        raise ValueError(f"No grid rows for tables {list(tables)} and recipes {list(recipes or [])}: tables are 1, 2, 3.")
    return rows


def row_overrides(row: GridRow, data_root, extra: Sequence[str] = ()) -> List[str]:
    """The ``--key value`` overrides of the recipe's conf that make one row's experiment."""
    _, n_src, json_split, recipe_options = RECIPES[row.recipe]
    return experiment_overrides({**row.args, "n_src": n_src, **recipe_options}, Path(data_root) / json_split, extra)


def row_dir(row: GridRow, exp_root) -> Path:
    return Path(exp_root) / row.recipe / row.tag


def run_grid(rows: Sequence[GridRow], data_root, exp_root, extra: Sequence[str] = (), dry_run: bool = False) -> List[dict]:
    """Train, evaluate and report each row in turn (a finished row is skipped: its final_metrics.json exists).

    ``extra``: more overrides for every row, e.g. ``--devices 4 --strategy ddp`` or ``--max_epochs 100``.
    """
    results = []
    for row in rows:
        conf = recipe_conf(RECIPES[row.recipe][0])
        overrides = row_overrides(row, data_root, extra)
        status, _ = run_unless_done(conf, overrides, row_dir(row, exp_root), f"Table {row.table}, {row.recipe}, {row.name}",
                                    dry_run, report=True)
        results.append({"row": row, "command": train_command(conf, row_dir(row, exp_root), overrides), "status": status})
    return results


def collect_tables(rows: Sequence[GridRow], exp_root, seconds: float = 4.0) -> List[dict]:
    """Each row with our SI-SDRi / SDRi (None if not run yet), params and MACs, and the paper's numbers."""
    collected = []
    for row in rows:
        exp = row_dir(row, exp_root)
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
