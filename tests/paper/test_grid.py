"""The grid of the paper's tables: its rows' configurations, skipping finished rows, and the aggregated tables."""
import json
from pathlib import Path

import pytest
import torch

from asteroid_deepmask import DeepMaskDPRNNTasNet
from asteroid_deepmask.engine.conf import conf_with_overrides, recipe_conf
from asteroid_deepmask.paper import grid


def test_the_grid_holds_every_row_of_the_papers_tables():
    assert len(grid.select_rows(["1"])) == 8 and len(grid.select_rows(["3"])) == 2
    assert {r.recipe for r in grid.select_rows(["2"])} == {"wsj0-2mix", "whamr"}
    assert len({(r.recipe, r.tag) for r in grid.PAPER_GRID}) == len(grid.PAPER_GRID)  # no two rows share a folder
    mlp_l = next(r for r in grid.select_rows(["2"], ["wsj0-2mix"]) if r.tag == "t2_mlp_l")
    assert (mlp_l.paper_si_sdri, mlp_l.paper_sdri) == (18.0, 18.1)
    with pytest.raises(ValueError, match="No grid rows"):
        grid.select_rows(["1"], ["whamr"])


def test_every_grid_row_is_a_valid_configuration_of_its_recipe():
    """Each row's overrides exist in its recipe's conf: the conf's parser rejects unknown keys."""
    for row in grid.PAPER_GRID:
        conf = conf_with_overrides(recipe_conf(grid.RECIPES[row.recipe][0]), grid.row_overrides(row, "data", ["--devices", "4"]))
        assert conf["head"]["model"] == row.args["model"] and str(conf["training"]["devices"]) == "4"
        assert conf["data"]["n_src"] == (3 if row.recipe == "wsj0-3mix" else 2)
        assert conf["data"]["train_dir"].startswith("data/json/"), row


def test_grid_runs_unfinished_rows_in_python_and_collects_them(tmp_path, monkeypatch):
    from asteroid_deepmask.engine import evaluate, train
    from asteroid_deepmask.reporting import report

    exp_root, data_root = tmp_path / "exp", tmp_path / "data"
    trained = {}

    def fake_train(conf, exp_dir):  # what the engine gets, and what stage 4 writes
        trained[Path(exp_dir).name] = conf

    def fake_evaluate(exp_dir, **options):
        (Path(exp_dir) / "eval").mkdir(parents=True)
        (Path(exp_dir) / "eval" / "final_metrics.json").write_text('{"si_sdri": 15.25, "sdri": 15.5, "n_utterances": 3000}')

    monkeypatch.setattr(train, "train", fake_train)
    monkeypatch.setattr(evaluate, "evaluate_experiment", fake_evaluate)
    monkeypatch.setattr(report, "write_report", lambda exp_dir: (Path(exp_dir) / "report.md").write_text("report"))
    finished = exp_root / "wsj0-3mix" / "t3_baseline"
    (finished / "eval").mkdir(parents=True)
    (finished / "eval" / "final_metrics.json").write_text(json.dumps({"si_sdri": 14.0, "sdri": 14.25, "n_utterances": 3000}))
    model = DeepMaskDPRNNTasNet(n_src=3, n_repeats=1, bn_chan=8, hid_size=8, n_filters=16)
    torch.save(model.serialize(), finished / "best_model.pth")

    rows = grid.select_rows(["3"])
    results = grid.run_grid(rows, data_root, exp_root, ["--devices", "4"])
    assert [r["status"] for r in results] == ["done", "run"]
    assert list(trained) == ["t3_mlp_l"]
    conf = trained["t3_mlp_l"]
    assert (conf["head"]["model"], conf["head"]["mlp_hidden"], conf["data"]["n_src"], str(conf["training"]["devices"])) == ("deepmask", 64, 3, "4")
    assert conf["data"]["train_dir"] == str(data_root / "json" / "3speakers" / "wav8k" / "min" / "tr")
    command = (exp_root / "wsj0-3mix" / "t3_mlp_l" / "command.txt").read_text()
    assert "asteroid-deepmask train --conf" in command and "--model deepmask --mlp_hidden 64 --n_src 3" in command
    assert (exp_root / "wsj0-3mix" / "t3_mlp_l" / "report.md").is_file()

    collected = grid.collect_tables(rows, exp_root)
    assert collected[0]["si_sdri"] == 14.0 and collected[0]["params_m"] > 0 and collected[1]["si_sdri"] == 15.25
    table = grid.format_tables(collected)
    assert "| Baseline | wsj0-3mix | 14.00 | 14.6 | 14.25 | 14.9 |" in table
    assert "| +MLP (L) | wsj0-3mix | 15.25 | 15.5 | 15.50 | 15.7 | - | - |" in table


def test_grid_dry_run_from_the_command_line_prints_the_train_commands(tmp_path, capsys):
    from asteroid_deepmask.cli import main

    main(["grid", "--table", "3", "--data-root", str(tmp_path / "data"), "--exp-root", str(tmp_path / "exp"), "--dry-run",
          "--max_epochs", "5"])  # fmt: skip
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 2 and all(line.startswith("[dry run] asteroid-deepmask train --conf ") for line in printed)
    assert "--max_epochs 5" in printed[1] and "--mlp_hidden 64" in printed[1]
    assert not (tmp_path / "exp").exists()


def test_a_grid_row_without_its_data_fails_in_one_line_saying_what_is_missing(tmp_path):
    from asteroid_deepmask.cli import main

    with pytest.raises(SystemExit, match=r"^error: No validation metadata at .*json/3speakers/wav8k/min/cv"):
        main(["grid", "--table", "3", "--recipe", "wsj0-3mix", "--data-root", str(tmp_path / "data"), "--exp-root", str(tmp_path / "exp")])
