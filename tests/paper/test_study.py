"""The study of the paper's claims: statistics, verdict rule, report, the runs' overrides, and one
study row trained, evaluated and reported end to end in Python."""
import dataclasses
import json
import math

import pytest
import torch

from asteroid_deepmask.models import make_model
from asteroid_deepmask.paper.study import (
    STUDY_ROWS, StudyBudget, claim_evidence, compare, run_overrides, run_study, select_study_rows, summarize,
    write_study_report,
)  # fmt: skip

TINY = dict(n_repeats=1, bn_chan=8, hid_size=8, n_filters=16, chunk_size=10, hop_size=5)


def _runs(values):
    return [{"row": key, "seed": seed, "si_sdri": v, "sdri": v + 0.3, "params_m": 1.0, "macs_g": 2.0, "wall_time_s": 60.0}
            for key, seeds in values.items() for seed, v in enumerate(seeds)]  # fmt: skip


def test_summary_and_welch_comparison_match_a_hand_computation():
    summary = summarize(STUDY_ROWS, _runs({"baseline": [5.0, 6.0, 7.0], "p16_relu": [7.0, 8.0, 9.0]}))
    assert [s["row"].key for s in summary] == ["baseline", "p16_relu"]
    assert summary[0]["si_sdri"] == pytest.approx(6.0) and summary[0]["si_sdri_std"] == pytest.approx(1.0)
    result = compare(summary, "p16_relu", "baseline")
    # difference 2, standard error sqrt(1/3 + 1/3)
    assert result["difference"] == pytest.approx(2.0)
    assert result["z"] == pytest.approx(2.0 / math.sqrt(2 / 3))
    assert compare(summary, "mlp_l", "baseline") is None  # not run


def test_claim_verdicts_follow_the_stated_two_standard_error_rule():
    clear_gain = _runs({"baseline": [5.0, 5.1, 4.9], "p4_relu": [6.0, 6.1, 5.9], "p8_relu": [5.0, 5.2, 4.8],
                        "baseline_linear": [5.0, 5.1, 4.9], "p4_linear": [5.05, 5.0, 4.95]})  # fmt: skip
    evidence = {e["claim"][:3]: e["comparisons"] for e in claim_evidence(summarize(STUDY_ROWS, clear_gain))}
    by_pair = {(c["a"], c["b"]): c["agrees"] for c in evidence["(a)"] + evidence["(b)"]}
    assert by_pair[("p4_relu", "baseline")] is True  # +1 dB, tiny spread
    assert by_pair[("p8_relu", "baseline")] is False  # no difference: a claimed gain does not hold
    assert by_pair[("p4_linear", "baseline_linear")] is True  # claimed equality holds
    assert by_pair[("p16_relu", "baseline")] is None  # not run


def test_a_study_of_some_rows_is_judged_on_their_comparisons_only():
    summary = summarize(STUDY_ROWS, _runs({"baseline": [5.0, 5.1, 4.9], "p16_relu": [6.0, 6.1, 5.9], "mlp_l": [6.0, 5.9, 6.1]}))
    evidence = claim_evidence(summary, ["baseline", "p16_relu", "mlp_l"])
    pairs = [(c["a"], c["b"]) for e in evidence for c in e["comparisons"]]
    assert ("p16_relu", "baseline") in pairs and ("mlp_l", "p16_relu") in pairs
    assert all(a in ("baseline", "p16_relu", "mlp_l") and b in ("baseline", "p16_relu", "mlp_l") for a, b in pairs)
    assert not any(e["claim"].startswith("(b)") for e in evidence)  # no linear rows: claim (b) not tested
    assert any(c["missing"] == "not run yet" for e in claim_evidence(summary) for c in e["comparisons"])


def test_budget_and_seed_order_of_the_study_commands(tmp_path):
    budget = StudyBudget(epochs=2, steps_per_epoch=7, segment=0.5)
    rows = select_study_rows(["baseline", "3src_mlp_l"])
    results = run_study(rows, [0, 1], tmp_path / "exp", tmp_path / "data", budget, dry_run=True)
    assert [(r["row"].key, r["seed"]) for r in results] == [("baseline", 0), ("3src_mlp_l", 0), ("baseline", 1), ("3src_mlp_l", 1)]
    command = results[1]["command"]
    assert "--n_src 3" in command and "--mlp_hidden 64" in command and "--seed 0" in command and "--max_epochs 2" in command
    assert "--limit_train_batches 7 --segment 0.5 --early_stop_patience 0" in command
    on_p_axis = {(r.key, r.n_outputs, r.mask_act) for r in STUDY_ROWS if r.n_outputs and r.n_src == 2}
    assert on_p_axis == {("baseline", 2, "relu"), ("baseline_linear", 2, "linear")} | {
        (f"p{p}_{act}", p, act) for p in (4, 8, 16) for act in ("relu", "linear")}
    with pytest.raises(ValueError, match="Unknown study rows"):
        select_study_rows(["p32_relu"])


def _fake_run(exp_root, key, seed, si_sdri, model, gpu=None, wall_time_s=120.0):
    folder = exp_root / f"{key}_seed{seed}"
    (folder / "eval").mkdir(parents=True)
    (folder / "eval" / "final_metrics.json").write_text(json.dumps({"si_sdri": si_sdri, "sdri": si_sdri + 0.5, "n_utterances": 3}))
    (folder / "study_run.json").write_text(json.dumps({"wall_time_s": wall_time_s, "budget": dataclasses.asdict(StudyBudget())}))
    accelerator = "CUDAAccelerator" if gpu else "CPUAccelerator"
    (folder / "best_model.json").write_text(json.dumps({"training": {"accelerator": accelerator, "gpu": gpu}}))
    torch.save(model.serialize(), folder / "best_model.pth")


def test_report_has_the_table_evidence_and_plots_from_run_folders(tmp_path):
    exp_root = tmp_path / "exp"
    models = {"baseline": make_model("baseline", **TINY), "p16_relu": make_model("overseparation", n_outputs=16, **TINY)}
    for key, values in {"baseline": [5.0, 5.5, 6.0], "p16_relu": [6.5, 7.0, 7.5]}.items():
        for seed, value in enumerate(values):  # seed 0 on a CPU, the others on a GPU
            gpu, wall = (None, 300.0) if seed == 0 else ("NVIDIA H200", 60.0 + 12 * seed)
            _fake_run(exp_root, key, seed, value, models[key], gpu, wall)
    report = write_study_report(STUDY_ROWS, exp_root, tmp_path / "out")
    text = report.read_text()
    assert "| Baseline (P = C) | 2 | 3 | 5.50 ± 0.50 | 6.00 ± 0.50 |" in text
    assert "| P = 16, ReLU | 2 | 3 | 7.00 ± 0.50 |" in text
    assert "| 5.0 (CPU), 1.3 (NVIDIA H200) |" in text  # wall time kept apart per training device
    assert "P = 16, ReLU vs Baseline (P = C) (expected: above): +1.50 ± 0.41 dB" in text
    assert "MLP (L) vs P = 16, ReLU (expected: equal to): not run yet" in text
    for png in ("si_sdri_vs_p.png", "si_sdri_vs_macs.png"):
        assert (tmp_path / "out" / png).stat().st_size > 10_000
    runs = json.loads((tmp_path / "out" / "study.json").read_text())["runs"]
    assert len(runs) == 6 and runs[0]["macs_g"] < runs[3]["macs_g"]  # MACs counted from the saved models
    with pytest.raises(FileNotFoundError, match="No finished study runs"):
        write_study_report(STUDY_ROWS, tmp_path / "empty", tmp_path / "out2")


def test_head_masks_figure_groups_branches_in_reference_order(tmp_path):
    import numpy as np
    import soundfile as sf

    from asteroid_deepmask.reporting.report import _masks_in_reference_order, plot_head_masks

    torch.manual_seed(0)
    p16 = make_model("overseparation", n_outputs=16, **TINY).eval()
    mlp = make_model("deepmask", mlp_hidden=16, **TINY).eval()
    example = tmp_path / "ex_0"
    example.mkdir()
    rng = np.random.default_rng(0)
    sources = 0.1 * rng.standard_normal((2, 4000)).astype("float32")
    sf.write(example / "mixture.wav", sources.sum(0), 8000, subtype="FLOAT")
    for k, source in enumerate(sources, start=1):
        sf.write(example / f"s{k}.wav", source, 8000, subtype="FLOAT")
    mixture = torch.from_numpy(sources.sum(0))
    masks, per_group = _masks_in_reference_order(p16, mixture, torch.from_numpy(sources))
    assert masks.shape[0] == 16 and per_group == 8
    # The reordered groups summed are the model's own source masks, in some source order.
    with torch.no_grad():
        grouped = p16.masker(p16.forward_encoder(mixture[None]))[0].numpy()
    sums = masks.reshape(2, 8, *masks.shape[1:]).sum(1)
    assert any(np.allclose(sums, grouped[list(order)], atol=1e-5) for order in ((0, 1), (1, 0)))
    png = plot_head_masks(p16, mlp, example, tmp_path / "masks.png")
    assert png.stat().st_size > 10_000


def test_study_command_prints_what_it_would_run(tmp_path, capsys):
    from asteroid_deepmask.cli import main

    main(["study", "--exp-root", str(tmp_path / "exp"), "--json-dir", str(tmp_path / "data"), "--rows", "mlp_s",
          "--seeds", "1", "--epochs", "2", "--dry-run"])  # fmt: skip
    printed = capsys.readouterr().out
    assert printed.startswith("[dry run] MLP (S), seed 1:") and "--mlp_hidden 16" in printed and "--max_epochs 2" in printed
    assert not (tmp_path / "exp").exists()


def test_every_study_option_is_a_key_of_the_demo_conf():
    # The conf's parser refuses a key it does not have: a row passing one fails at its first run
    # (the deeper separators' --n_repeats once did).
    from asteroid_deepmask.engine.conf import conf_with_overrides, recipe_conf

    for row in STUDY_ROWS:
        conf = conf_with_overrides(recipe_conf("demo"), run_overrides(row, 0, "data", StudyBudget()))
        assert conf["data"]["n_src"] == row.n_src and conf["head"]["model"] == row.args["model"], row.key


def test_study_trains_evaluates_and_reports_a_row_with_the_demo_conf(corpus_24, tmp_path):

    rows, exp_root = select_study_rows(["baseline"]), tmp_path / "study"
    budget = StudyBudget(epochs=1, steps_per_epoch=2, segment=0.5)
    json_root = corpus_24.parents[2]
    [first] = run_study(rows, [0], exp_root, json_root, budget)
    assert first["status"] == "run"
    run = exp_root / "baseline_seed0"
    assert torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 2  # the budget, no more
    assert json.loads((run / "study_run.json").read_text())["budget"]["steps_per_epoch"] == 2
    [again] = run_study(rows, [0], exp_root, json_root, budget)
    assert again["status"] == "done"  # finished runs are not redone
    text = write_study_report(rows, exp_root, tmp_path / "report").read_text()
    metrics = json.loads((run / "eval" / "final_metrics.json").read_text())
    assert f"| Baseline (P = C) | 2 | 1 | {metrics['si_sdri']:.2f} | {metrics['sdri']:.2f} |" in text
