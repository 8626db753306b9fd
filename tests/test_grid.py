"""The grid of the paper's tables: commands, skipping finished rows, and the aggregated tables."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from asteroid_deepmask import DeepMaskDPRNNTasNet
from asteroid_deepmask.recipes import grid

ROOT = Path(__file__).resolve().parents[1]


def test_the_grid_holds_every_row_of_the_papers_tables():
    assert len(grid.select_rows(["1"])) == 8 and len(grid.select_rows(["3"])) == 2
    assert {r.recipe for r in grid.select_rows(["2"])} == {"wsj0-2mix", "whamr"}
    assert len({(r.recipe, r.tag) for r in grid.PAPER_GRID}) == len(grid.PAPER_GRID)  # no two rows share a folder
    mlp_l = next(r for r in grid.select_rows(["2"], ["wsj0-2mix"]) if r.tag == "t2_mlp_l")
    assert (mlp_l.paper_si_sdri, mlp_l.paper_sdri) == (18.0, 18.1)
    with pytest.raises(ValueError, match="No grid rows"):
        grid.select_rows(["1"], ["whamr"])


def test_every_grid_command_is_a_valid_recipe_command(tmp_path):
    """Each row's options exist in its recipe: the recipe's parser rejects unknown ones."""
    for row in grid.PAPER_GRID:
        command = grid.row_command(row, ROOT / "egs", ["--python", sys.executable], stage=7, stop_stage=7)
        result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)
        assert result.returncode == 0, (command, result.stderr)


def test_grid_runs_unfinished_rows_from_their_recipe_folder_and_collects_them(tmp_path):
    egs = tmp_path / "egs"
    # A stand-in recipe that records how it was called and writes what stage 4 writes.
    for recipe in ("wsj0-2mix", "wsj0-3mix"):
        (egs / recipe).mkdir(parents=True)
        (egs / recipe / "run.sh").write_text(
            'tag=$(echo "$@" | sed "s/.*--tag \\([^ ]*\\).*/\\1/")\n'
            'mkdir -p exp/$tag/eval && echo "$@" > exp/$tag/args.txt\n'
            'echo \'{"si_sdri": 15.25, "sdri": 15.5, "n_utterances": 3000}\' > exp/$tag/eval/final_metrics.json\n'
        )
    finished = egs / "wsj0-3mix" / "exp" / "t3_baseline"
    (finished / "eval").mkdir(parents=True)
    (finished / "eval" / "final_metrics.json").write_text(json.dumps({"si_sdri": 14.0, "sdri": 14.25, "n_utterances": 3000}))
    model = DeepMaskDPRNNTasNet(n_src=3, n_repeats=1, bn_chan=8, hid_size=8, n_filters=16)
    torch.save(model.serialize(), finished / "best_model.pth")

    rows = grid.select_rows(["3"])
    results = grid.run_grid(rows, egs, ["--wsj0mix_dir", "/corpora/wsj0-mix"])
    assert [r["status"] for r in results] == ["done", "run"]
    args = (egs / "wsj0-3mix" / "exp" / "t3_mlp_l" / "args.txt").read_text()
    assert "--stage 3 --stop_stage 5 --tag t3_mlp_l --model deepmask --mlp_hidden 64 --wsj0mix_dir /corpora/wsj0-mix" in args

    collected = grid.collect_tables(rows, egs)
    assert collected[0]["si_sdri"] == 14.0 and collected[0]["params_m"] > 0 and collected[1]["si_sdri"] == 15.25
    table = grid.format_tables(collected)
    assert "| Baseline | wsj0-3mix | 14.00 | 14.6 | 14.25 | 14.9 |" in table
    assert "| +MLP (L) | wsj0-3mix | 15.25 | 15.5 | 15.50 | 15.7 | - | - |" in table
