"""The benchmarks run and report numbers (what they measure is printed, never asserted): training steps and the voices loader."""
import json

import numpy as np
import pytest
import torch


SEGMENT = 0.5


@pytest.fixture
def root(speakers_root):
    return speakers_root


# The loader benchmark --------------------------------------------------------------------------
def test_loader_benchmark_runs_on_a_toy_folder(root):
    from asteroid_deepmask.tools.bench.loader import format_loader_result, run_loader_benchmark

    result = run_loader_benchmark(root, batch_size=2, segment=SEGMENT, num_workers=1, n_batches=2, train_steps=1)
    assert result["speakers"] == 5 and result["n_batches"] == 2 and "speed 0.9-1.1" in result["augment"]
    assert result["loader_batches_per_s"] > 0 and result["train_steps_per_s"]["32"] > 0
    assert result["loader_to_train_ratio"]["32"] == pytest.approx(result["loader_batches_per_s"] / result["train_steps_per_s"]["32"])
    assert "bf16" in result["train_steps_per_s"]  # a rate, or None with the reason where the CPU cannot
    assert (result["train_steps_per_s"]["bf16"] is None) == ("bf16" in result.get("notes", {}))
    assert result["rss_start_kb"] > 0 and result["rss_end_kb"] > 0
    assert len(result["worker_rss_kb"]["first_batch"]) == 1
    assert "batches/s" in format_loader_result(result)
    json.dumps(result)  # what --json prints


def test_loader_benchmark_takes_a_conf_from_the_command_line(root, tmp_path, capsys):
    # An installed package has no egs/: the recipe conf can be given.
    from asteroid_deepmask import cli

    conf = tmp_path / "conf.yml"
    conf.write_text("data: {sample_rate: 8000, n_src: 2}\ntraining: {seed: 0}\naugment: {speed_min: 0.8, speed_max: 1.2}\n")
    cli.main(["benchmark", "--loader", str(root), "--loader-conf", str(conf), "--batch-size", "2", "--seconds", str(SEGMENT),
              "--steps", "2", "--precision", "32"])
    assert "speed 0.8-1.2" in capsys.readouterr().out


def test_training_step_benchmark_reports_times():
    from asteroid_deepmask.tools.bench.training import time_training_step

    result = time_training_step("deepmask", batch_size=2, seconds=0.5, steps=2, warmup=1, n_repeats=1, hid_size=8, bn_chan=8, n_filters=16)
    assert result["steps"] == 2 and 0 < result["min_s"] <= result["median_s"] <= result["max_s"]
    assert result["device"] == "cpu"


@pytest.mark.parametrize("precision", ["bf16", "16"])
def test_training_step_benchmark_autocasts_the_forward_pass(precision):
    """Same seed, same batch: the first step's loss under autocast is the fp32 loss up to the
    lower precision's rounding, and not bit-equal to it (which it would be if autocast were not on)."""
    from asteroid_deepmask.tools.bench.training import time_training_step

    first_step = dict(batch_size=2, seconds=0.5, steps=1, warmup=0, n_repeats=1, hid_size=8, bn_chan=8, n_filters=16)
    torch.manual_seed(0)
    reference = time_training_step("deepmask", **first_step)
    torch.manual_seed(0)
    with torch.backends.mkldnn.flags(enabled=False):  # torch's own LSTM runs bf16/fp16 on any CPU
        result = time_training_step("deepmask", precision=precision, **first_step)
    assert result["precision"] == precision
    assert result["loss"] == pytest.approx(reference["loss"], abs=1e-3)
    assert result["loss"] != reference["loss"]
    with pytest.raises(ValueError, match="expected one of"):
        time_training_step("deepmask", precision="fp8")


def test_deploy_benchmark_times_every_case_against_torch_fp32(monkeypatch, tmp_path):
    """One small model: every case has a time and a speed ratio, or the reason it was refused; fp32
    on onnxruntime matches torch, int8 deviates a little; SI-SDRi per case on a tiny test set."""
    import json

    import soundfile as sf

    from asteroid_deepmask.tools.bench import deploy

    monkeypatch.setitem(deploy.DEPLOY_MODELS, "tiny", ("deepmask", dict(n_repeats=1, bn_chan=16, hid_size=16, n_filters=32, mlp_hidden=8)))
    rows = deploy.time_cases("tiny", 1.0, 2)
    assert [(r["backend"], r["precision"]) for r in rows] == list(deploy.CASES)
    by_case = {(r["backend"], r["precision"]): r for r in rows}
    assert by_case["torch", "fp32"]["speedup"] == 1.0 and by_case["torch", "fp32"]["output_snr_db"] > 200
    assert by_case["onnxruntime", "fp32"]["output_snr_db"] >= 60
    assert 10 < by_case["onnxruntime", "int8"]["output_snr_db"] < 100
    assert all("refused" in r or r["median_s"] > 0 for r in rows)
    rng = np.random.default_rng(0)
    entries = {"mix": [], "s1": [], "s2": []}
    for k in range(2):
        s1, s2 = 0.1 * rng.standard_normal((2, 8000)).astype(np.float32)
        for name, wav in (("mix", s1 + s2), ("s1", s1), ("s2", s2)):
            sf.write(tmp_path / f"{name}_{k}.wav", wav, 8000)
            entries[name].append([str(tmp_path / f"{name}_{k}.wav"), 8000])
    for name, items in entries.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(items))
    quality = deploy.quality_cases("tiny", {"toy": str(tmp_path)})
    assert {r["test_set"] for r in quality} == {"toy"} and len(quality) >= 4
    assert [r["delta_db"] for r in quality if (r["backend"], r["precision"]) == ("torch", "fp32")] == [0.0]
