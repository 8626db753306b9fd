"""The benchmarks run and report numbers (what they measure is printed, never asserted): training steps and the voices loader."""
import json

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
