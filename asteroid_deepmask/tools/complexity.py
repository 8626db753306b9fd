"""Parameters and MACs of separation models, counted with thop as in the paper (its ref. [26]).

The paper reports both on a 4 s, 8 kHz input (Tables 1 and 2); its rows are
:data:`asteroid_deepmask.paper.tables.PAPER_ROWS`.
"""
import copy
import warnings
from typing import List, Optional

import thop
import torch


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
