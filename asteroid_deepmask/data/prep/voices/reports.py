"""What a build reports: the split x package table, and ``LICENCES.md``."""
from pathlib import Path
from typing import Dict, Sequence

from ...io import write_text_atomic
from ...layout import SPLITS
from .rules import ALLOW_LIST
from .splits import HELDOUT_SPLIT


def split_table(clips: Sequence[dict]) -> Dict[str, Dict[str, dict]]:
    """split -> package -> {speakers, clips, minutes}, with an ``all`` package per split (and the
    held-out ``xt`` split when it has clips)."""
    table: Dict[str, Dict[str, dict]] = {}
    for split in (*SPLITS, HELDOUT_SPLIT):
        rows = [c for c in clips if c["split"] == split]
        if not rows and split == HELDOUT_SPLIT:
            continue
        by_package = {}
        for package in sorted({c["package"] for c in rows}, key=list(ALLOW_LIST).index) + ["all"]:
            sel = [c for c in rows if package == "all" or c["package"] == package]
            by_package[package] = {"speakers": len({c["speaker"] for c in sel}), "clips": len(sel),
                                   "minutes": round(sum(c["seconds"] for c in sel) / 60, 2)}
        table[split] = by_package
    return table


def format_table(table: Dict[str, Dict[str, dict]]) -> str:
    """The split x package table as markdown."""
    lines = ["| split | package | speakers | clips | minutes |", "|---|---|---|---|---|"]
    for split, rows in table.items():
        for package, row in rows.items():
            label = f"**{package}**" if package == "all" else package
            lines.append(f"| {split} | {label} | {row['speakers']} | {row['clips']} | {row['minutes']:.1f} |")
    return "\n".join(lines)


def write_licences(path: Path, clips: Sequence[dict], versions: Dict[str, str]) -> None:
    """``LICENCES.md``: minutes, licence and its meaning per package, and what the licences may
    mean for model weights (an open question, stated as such: not legal advice)."""
    lines = ["# Licences of the recorded-speech corpus", "",
             "Every clip comes from a Debian 12 `main` package on the allow-list of NOTES.md section 5a; "
             "`manifest.csv` gives each clip's package, version, path inside the package and licence. "
             "The licences are those of the packages' `debian/copyright` files.", "",
             "| package | version | clips | minutes | licence | what the licence says |", "|---|---|---|---|---|---|"]
    for package, version in versions.items():
        sel = [c for c in clips if c["package"] == package]
        licences = sorted({c["licence"] for c in sel}) or [ALLOW_LIST[package].licence]
        note = f" ({ALLOW_LIST[package].note})" if ALLOW_LIST[package].note else ""
        lines.append(f"| {package} | {version} | {len(sel)} | {sum(c['seconds'] for c in sel) / 60:.1f} | "
                     f"{'; '.join(licences)} | {ALLOW_LIST[package].meaning}{note} |")
    total = sum(c["seconds"] for c in clips) / 60
    gpl = sum(c["seconds"] for c in clips if c["licence"] in ("GPL-2+", "GPL-2")) / 60
    lines += ["", f"In all {total:.1f} minutes, of which {gpl:.1f} ({100 * gpl / max(total, 1e-9):.0f} %) are under "
              "GPL-2+ or GPL-2.", "",
              "## Model weights", "",
              "Most of this audio is under the GNU GPL. The GPL governs copying, modifying and distributing the "
              "covered works; whether the weights of a model trained on GPL audio are a derivative work of that "
              "audio (and so would have to be distributed under the GPL, or could not be distributed under "
              "incompatible terms) is an open legal question, on which courts and licence authors have not settled "
              "an answer. The audio is not contained in the weights in any recognisable form, but that alone does "
              "not settle it. We therefore do not redistribute the audio: we distribute the corpus manifest "
              "(package, version, path and licence of every clip, so that anyone can rebuild the corpus from "
              "Debian), and every model card trained on it states these licences. This is a description of what "
              "we do, not legal advice; if it matters to you, ask a lawyer.", ""]
    write_text_atomic(path, "\n".join(lines))
