"""Training from a recipe configuration: resume after a kill, DDP, the other separators, dynamic grouping, precision."""
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from fakes import TOY_TRAIN_ARGS

ROOT = Path(__file__).resolve().parents[2]


def test_max_time_reaches_lightning_as_a_budget():
    from datetime import timedelta

    from asteroid_deepmask.engine.train import _max_time

    assert _max_time(None) is None and _max_time("None") is None
    assert _max_time(330) == timedelta(seconds=330)
    assert _max_time("00:00:05:30") == "00:00:05:30"


def _train_command(split, exp, *args):
    return [
        sys.executable, "-m", "asteroid_deepmask.cli", "train", "--conf", str(ROOT / "egs/demo/local/conf.yml"),
        "--exp-dir", str(exp), "--train_dir", str(split / "tr"), "--valid_dir", str(split / "cv"),
        *TOY_TRAIN_ARGS.split(), *args,
    ]


def test_training_killed_mid_epoch_resumes_from_its_last_checkpoint(corpus_24, tmp_path):
    exp = tmp_path / "resume"
    train = _train_command(corpus_24, exp, "--max_epochs", "2")
    # A checkpoint every 2 steps; killed as soon as the first one is written.
    process = subprocess.Popen(train, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    last = exp / "checkpoints" / "last.ckpt"
    deadline = time.time() + 300
    while not last.exists() and time.time() < deadline and process.poll() is None:
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed = torch.load(last, weights_only=True)
    killed_at = killed["global_step"]
    assert 0 < killed_at < 12, "the run was not killed mid-epoch"
    (timer_state,) = [state for key, state in killed["callbacks"].items() if key.startswith("Timer")]
    trained_before_kill = timer_state["time_elapsed"]["train"]
    resumed = subprocess.run(train, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "Resuming from" in resumed.stderr
    # It ends where an uninterrupted run ends: 2 epochs of 12 steps, no more, no fewer.
    assert torch.load(last, weights_only=True)["global_step"] == 24
    logged = pd.concat(pd.read_csv(f) for f in (exp / "logs").rglob("metrics.csv"))
    assert sorted(logged.dropna(subset=["val_loss"])["epoch"].unique()) == [0, 1]
    # The model card's training time counts both runs, not just the resumed one.
    infos = torch.load(exp / "best_model.pth", weights_only=True)["infos"]["training"]
    assert infos["resumed"] and infos["last_step"] == 24
    assert infos["train_time_s"] > trained_before_kill > 0


def test_ddp_training_on_two_cpu_processes_saves_a_checkpoint(corpus_24, tmp_path):
    """DDP is Lightning's: two CPU processes (gloo) through the same options a cluster uses."""
    exp = tmp_path / "ddp"
    command = _train_command(corpus_24, exp, "--max_epochs", "1", "--accelerator", "cpu", "--devices", "2", "--strategy", "ddp")
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    # 24 mixtures over 2 processes in batches of 2: 6 steps.
    assert torch.load(exp / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 6
    assert json.loads((exp / "best_model.json").read_text())["training"]["devices"] == 2
    assert "world_size=2" in result.stderr or "distributed_backend=gloo" in result.stderr


def _cpu_has_bf16_lstm():
    from asteroid_deepmask.engine.precision import check_cpu_precision

    try:
        check_cpu_precision("bf16-mixed")
    except ValueError:
        return False
    return True


@pytest.mark.parametrize(
    "model, size, model_class",
    [
        ("convtasnet_deepmask", "--n_blocks 2 --hid_chan 16 --skip_chan 16", "DeepMaskConvTasNet"),
        ("dptnet_overseparation", "--n_heads 2 --ff_hid 8 --chunk_size 20 --hop_size 10", "OverseparationDPTNet"),
    ],
)
def test_recipe_trains_the_other_separators_by_model_name(corpus_24, tmp_path, model, size, model_class):
    exp = tmp_path / model
    command = [
        sys.executable, "-m", "asteroid_deepmask.cli", "train", "--conf", str(ROOT / "egs/demo/local/conf.yml"),
        "--exp-dir", str(exp), "--train_dir", str(corpus_24 / "tr"), "--valid_dir", str(corpus_24 / "cv"),
        "--model", model, "--batch_size", "2", "--n_repeats", "1", "--n_filters", "32", "--segment", "1.0",
        "--num_workers", "0", "--mlp_hidden", "8", "--n_outputs", "4", "--max_epochs", "1",
        "--limit_train_batches", "2", *size.split(),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    from asteroid.models import BaseModel

    import yaml

    loaded = BaseModel.from_pretrained(str(exp / "best_model.pth"))
    assert type(loaded).__name__ == model_class and loaded.masker.trunk.n_repeats == 1
    saved = yaml.safe_load((exp / "conf.yml").read_text())
    assert "masknet_convtasnet" not in saved and "masknet_dptnet" not in saved  # only the separator used


def test_recipe_trains_with_dynamic_grouping_and_publishes_a_dynamic_model(corpus_24, tmp_path):
    exp = tmp_path / "dynamic"
    train = _train_command(corpus_24, exp, "--model", "overseparation", "--n_outputs", "4", "--grouping", "dynamic",
                           "--max_epochs", "1", "--limit_train_batches", "2")  # fmt: skip
    result = subprocess.run(train, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    from asteroid.models import BaseModel

    model = BaseModel.from_pretrained(str(exp / "best_model.pth"))
    assert model.grouping == "dynamic" and model.masker.n_outputs == 4

    # What the model's own grouping loses: the same model grouped with the references' help.
    oracle = [sys.executable, "-m", "asteroid_deepmask.cli", "evaluate", "--exp-dir", str(exp), "--test-dir",
              str(corpus_24 / "tt"), "--max-utterances", "2", "--n-examples", "0", "--oracle-grouping"]  # fmt: skip
    result = subprocess.run(oracle, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads((exp / "eval_oracle_grouping" / "final_metrics.json").read_text())["n_utterances"] == 2
    from asteroid_deepmask.models import DeepMaskDPRNNTasNet
    from asteroid_deepmask.engine.evaluate import evaluate

    torch.save(DeepMaskDPRNNTasNet(n_src=2, n_repeats=1, bn_chan=8, hid_size=8, n_filters=16).serialize(), tmp_path / "mlp.pth")
    with pytest.raises(ValueError, match="Oracle grouping needs an overseparation model .* is a DeepMaskDPRNNTasNet"):
        evaluate(tmp_path / "mlp.pth", corpus_24 / "tt", tmp_path / "eval", n_src=2, oracle_grouping=True)


def test_model_takes_its_separators_section_of_the_conf():
    from asteroid_deepmask.engine.conf import conf_with_overrides, model_from_conf

    demo_conf = ROOT / "egs/demo/local/conf.yml"
    conf = conf_with_overrides(demo_conf, ["--model", "convtasnet_baseline", "--n_repeats", "1"])
    assert conf["masknet"]["n_repeats"] == 1 and "n_blocks" in conf["masknet"]
    assert "hid_size" in conf_with_overrides(demo_conf, ["--model", "overseparation"])["masknet"]
    with pytest.raises(ValueError, match="Unknown model 'wavenet_deepmask'"):
        conf_with_overrides(demo_conf, ["--model", "wavenet_deepmask"])
    dprnn_conf = conf_with_overrides(demo_conf, [])
    dprnn_conf["head"]["model"] = "convtasnet_deepmask"  # a DPRNN section under a Conv-TasNet model
    with pytest.raises(ValueError, match="TDConvNetTrunk .* does not take: give it its own conf section 'masknet_convtasnet'"):
        model_from_conf(dprnn_conf)


def test_mixed_precision_on_a_cpu_without_bf16_lstm_is_refused_with_what_to_use(corpus_24, tmp_path):
    if _cpu_has_bf16_lstm():
        pytest.skip("this CPU runs bf16 LSTMs: nothing to refuse")
    command = _train_command(corpus_24, tmp_path / "bf16", "--max_epochs", "1", "--accelerator", "cpu", "--precision", "bf16-mixed")
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode != 0
    assert "Precision 'bf16-mixed' on CPU" in result.stderr and "Use precision 32-true" in result.stderr
    assert not (tmp_path / "bf16" / "checkpoints").exists()


def test_bf16_mixed_precision_trains_and_publishes_float32_weights(corpus_24, tmp_path):
    """Lightning's bf16-mixed through the recipe; torch's own LSTM kernels (oneDNN off) run bf16 on any CPU."""
    from asteroid_deepmask.models import DeepMaskDPRNNTasNet
    from asteroid_deepmask.engine.conf import conf_with_overrides
    from asteroid_deepmask.engine.train import train

    args = [*TOY_TRAIN_ARGS.split(), "--train_dir", str(corpus_24 / "tr"), "--valid_dir", str(corpus_24 / "cv"),
            "--max_epochs", "1", "--limit_train_batches", "4", "--accelerator", "cpu", "--precision", "bf16-mixed"]
    conf = conf_with_overrides(ROOT / "egs/demo/local/conf.yml", args)
    with torch.backends.mkldnn.flags(enabled=False):
        best = train(conf, tmp_path / "bf16")
    package = torch.load(best, weights_only=True)
    assert package["infos"]["training"]["precision"] == "bf16-mixed"
    assert all(value.dtype == torch.float32 for value in package["state_dict"].values() if value.is_floating_point())
    model = DeepMaskDPRNNTasNet.from_pretrained(str(best))
    assert torch.isfinite(model(torch.randn(1, 8000))).all()
