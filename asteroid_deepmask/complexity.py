"""Parameters and MACs of separation models, counted with thop as in the paper (its ref. [26]).

The paper reports both on a 4 s, 8 kHz input (Tables 1 and 2). :data:`PAPER_ROWS` holds those
rows with the configuration that builds each one.
"""
import copy
import warnings
from dataclasses import dataclass, field
from typing import List, Optional

import torch
import thop

from .models import make_model


@dataclass(frozen=True)
class PaperRow:
    """One row of the paper's complexity figures and the model that reproduces it."""

    name: str
    table: str
    model: str
    kwargs: dict = field(default_factory=dict)
    params_m: Optional[float] = None
    macs_g: Optional[float] = None


PAPER_ROWS = (
    PaperRow("Baseline (6 DPRNN blocks), P = 2", "1, 2", "baseline", {}, 2.6, 21.5),
    PaperRow("P = 4, ReLU", "1", "overseparation", {"n_outputs": 4}, 2.6, 21.6),
    PaperRow("P = 8, ReLU", "1", "overseparation", {"n_outputs": 8}, 2.6, 21.8),
    PaperRow("P = 16, ReLU", "1, 2", "overseparation", {"n_outputs": 16}, 2.7, 22.2),
    PaperRow("MLP (S), 16 hidden", "2", "deepmask", {"mlp_hidden": 16}, 2.6, 21.5),
    PaperRow("MLP (L), 64 hidden", "2", "deepmask", {"mlp_hidden": 64}, 2.6, 21.5),
    PaperRow("Baseline (9 DPRNN blocks)", "2", "baseline", {"n_repeats": 9}, 3.9, 32.1),
    PaperRow("Baseline (12 DPRNN blocks)", "2", "baseline", {"n_repeats": 12}, 5.2, 42.8),
)


def count_complexity(model: torch.nn.Module, seconds: float = 4.0, sample_rate: Optional[float] = None) -> dict:
    """Params (M) and MACs (G) of ``model`` on one mono input of ``seconds``, counted by thop.

    thop adds buffers to the modules it counts, so it runs on a copy.
    """
    sample_rate = sample_rate or getattr(model, "sample_rate", None)
    if not sample_rate:
        raise ValueError("The model has no sample_rate; pass sample_rate=.")
    counted = copy.deepcopy(model).eval()
    for module in counted.modules():  # count the head as the paper describes it, not its fused form
        if hasattr(module, "fused"):
            module.fused = False
    wav = torch.randn(1, int(round(seconds * sample_rate)))
    with torch.no_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="This API is being deprecated")  # thop's own notice
        macs, _ = thop.profile(counted, inputs=(wav,), verbose=False)
    params = sum(p.numel() for p in model.parameters())
    return {"params_m": params / 1e6, "macs_g": macs / 1e9, "seconds": seconds, "sample_rate": float(sample_rate)}


def paper_table(seconds: float = 4.0, n_src: int = 2) -> List[dict]:
    """Count every :data:`PAPER_ROWS` model; each row has ours, the paper's and the differences."""
    rows = []
    for row in PAPER_ROWS:
        ours = count_complexity(make_model(row.model, n_src=n_src, **row.kwargs), seconds)
        rows.append(
            {
                "name": row.name,
                "table": row.table,
                "model": row.model,
                "kwargs": row.kwargs,
                "params_m": ours["params_m"],
                "macs_g": ours["macs_g"],
                "paper_params_m": row.params_m,
                "paper_macs_g": row.macs_g,
                "diff_params_m": ours["params_m"] - row.params_m,
                "diff_macs_g": ours["macs_g"] - row.macs_g,
            }
        )
    return rows


def format_table(rows: List[dict]) -> str:
    """A markdown table; paper columns appear when the rows have them."""
    with_paper = all("paper_params_m" in row for row in rows)
    header = ["Model", "Params (M)", "MACs (G)"]
    if with_paper:
        header = ["Model", "Table", "Params (M)", "paper", "diff", "MACs (G)", "paper", "diff"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        if with_paper:
            cells = [
                row["name"],
                row["table"],
                f"{row['params_m']:.3f}",
                f"{row['paper_params_m']:.1f}",
                f"{row['diff_params_m']:+.3f}",
                f"{row['macs_g']:.2f}",
                f"{row['paper_macs_g']:.1f}",
                f"{row['diff_macs_g']:+.2f}",
            ]
        else:
            cells = [row["name"], f"{row['params_m']:.3f}", f"{row['macs_g']:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
