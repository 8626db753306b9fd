"""The demo recipe end to end at toy size, training resume, and the evaluation metrics."""
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from asteroid_deepmask.recipes.evaluate import utterance_metrics
from fakes import TOY_TRAIN_ARGS

ROOT = Path(__file__).resolve().parents[1]


def _run_demo(tmp_path, *args):
    command = [
        "bash", str(ROOT / "egs" / "demo" / "run.sh"), "--python", sys.executable,
        "--corpus_dir", str(tmp_path / "corpus"), "--json_dir", str(tmp_path / "data"),
        "--exp_root", str(tmp_path / "exp"), "--n_train", "8", "--n_valid", "4", "--n_test", "3",
        "--max_epochs", "1", "--train_args", TOY_TRAIN_ARGS, *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """The toy demo, run once for the tests that read its outputs."""
    tmp_path = tmp_path_factory.mktemp("demo")
    result = _run_demo(tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return tmp_path


def test_demo_recipe_runs_end_to_end_and_writes_every_promised_file(demo_run):
    tmp_path = demo_run
    exp = tmp_path / "exp" / "deepmask_2src"
    for split in ("tr", "cv", "tt"):
        assert (tmp_path / "corpus" / "2speakers" / "wav8k" / "min" / split / "corpus.json").is_file()
        assert (tmp_path / "data" / "2speakers" / "wav8k" / "min" / split / "s2.json").is_file()
    for name in [
        "conf.yml", "command.txt", "best_model.pth", "checkpoints/last.ckpt", "logs/version_0/metrics.csv",
        "eval/all_metrics.csv", "eval/final_metrics.json", "report.md", "spectrograms.png",
        "eval/examples/ex_0/mixture.wav", "eval/examples/ex_0/s1_estimate.wav", "eval/examples/ex_2/s2.wav",
    ]:
        assert (exp / name).is_file(), name
    assert list((exp / "tb").rglob("events.out.tfevents.*"))
    final = json.loads((exp / "eval" / "final_metrics.json").read_text())
    assert final["n_utterances"] == 3 and np.isfinite(final["si_sdri"])
    assert "SI-SDRi" in (exp / "report.md").read_text()
    # The published model loads with weights_only=True, as a user would load it.
    conf = torch.load(exp / "best_model.pth", weights_only=True)
    assert conf["model_name"] == "DeepMaskDPRNNTasNet" and conf["model_args"]["mlp_hidden"] == 16


def test_published_hub_folder_loads_through_a_hugging_face_id(demo_run, tmp_path, monkeypatch):
    import huggingface_hub

    from asteroid_deepmask import DeepMaskDPRNNTasNet
    from asteroid_deepmask.recipes.publish import publish

    exp = demo_run / "exp" / "deepmask_2src"
    publish(exp, "toy-demo", tmp_path / "hub", hub_layout=True)
    assert sorted(p.name for p in (tmp_path / "hub").iterdir()) == ["README.md", "pytorch_model.bin"]
    asked = {}

    def fake_download(repo_id, filename, **kwargs):  # the Hub, served from the uploaded folder
        asked.update(repo_id=repo_id, filename=filename)
        return str(tmp_path / "hub" / filename)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    model = DeepMaskDPRNNTasNet.from_pretrained("someone/toy-demo").eval()
    assert asked == {"repo_id": "someone/toy-demo", "filename": "pytorch_model.bin"}
    reference = DeepMaskDPRNNTasNet.from_pretrained(str(exp / "best_model.pth")).eval()
    wav = torch.randn(1, 4000)
    torch.testing.assert_close(model(wav), reference(wav), rtol=0, atol=0)


def test_evaluation_in_parallel_gives_the_same_table(demo_run, tmp_path):
    from asteroid_deepmask.recipes.evaluate import evaluate

    exp = demo_run / "exp" / "deepmask_2src"
    test_dir = demo_run / "data" / "2speakers" / "wav8k" / "min" / "tt"
    serial = evaluate(exp / "best_model.pth", test_dir, tmp_path / "serial", n_src=2, n_examples=1, device="cpu")
    parallel = evaluate(exp / "best_model.pth", test_dir, tmp_path / "parallel", n_src=2, n_examples=1, device="cpu", workers=2)
    assert serial == pytest.approx(parallel, abs=1e-4)
    a, b = (pd.read_csv(tmp_path / name / "all_metrics.csv") for name in ("serial", "parallel"))
    pd.testing.assert_frame_equal(a, b, atol=1e-4)
    assert (tmp_path / "parallel" / "examples" / "ex_0" / "s1_estimate.wav").is_file()


def test_published_model_loads_by_name_with_its_card(demo_run, tmp_path, monkeypatch):
    from asteroid_deepmask import DeepMaskDPRNNTasNet
    from asteroid_deepmask.models import base
    from asteroid_deepmask.recipes.publish import publish

    exp = demo_run / "exp" / "deepmask_2src"
    card = publish(exp, "toy-demo", tmp_path / "pretrained", notes="- trained on a toy corpus")
    text = card.read_text()
    assert "SI-SDRi" in text and "run.sh" in text and '"n_mixtures": 8' in text
    assert "## Notes\n\n- trained on a toy corpus\n" in text
    # The corpus settings come from what training recorded, not from wherever the data is now.
    recorded = json.loads((exp / "corpus.json").read_text())
    assert recorded["train_dir"]["n_mixtures"] == 8 and recorded["test_dir"]["split"] == "tt"
    monkeypatch.setattr(base, "PRETRAINED_DIR", tmp_path / "pretrained")
    model = DeepMaskDPRNNTasNet.from_pretrained("toy-demo").eval()
    reference = DeepMaskDPRNNTasNet.from_pretrained(str(exp / "best_model.pth")).eval()
    wav = torch.randn(1, 4000)
    torch.testing.assert_close(model(wav), reference(wav), rtol=0, atol=0)


def test_max_time_reaches_lightning_as_a_budget():
    from datetime import timedelta

    from asteroid_deepmask.recipes.train import _max_time

    assert _max_time(None) is None and _max_time("None") is None
    assert _max_time(330) == timedelta(seconds=330)
    assert _max_time("00:00:05:30") == "00:00:05:30"


def test_demo_recipe_rejects_unknown_options(tmp_path):
    result = subprocess.run(["bash", str(ROOT / "egs" / "demo" / "run.sh"), "--n_trian", "3"], capture_output=True, text=True)
    assert result.returncode != 0 and "unknown option --n_trian" in result.stderr


@pytest.fixture(scope="module")
def corpus_24(tmp_path_factory):
    """A toy corpus of 24 training mixtures: 12 steps per epoch in batches of 2."""
    tmp_path = tmp_path_factory.mktemp("corpus24")
    prepared = _run_demo(tmp_path, "--stop_stage", "2", "--n_train", "24")
    assert prepared.returncode == 0, prepared.stderr[-3000:]
    return tmp_path / "data" / "2speakers" / "wav8k" / "min"


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
    from asteroid_deepmask.recipes.train import check_cpu_precision

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
    from asteroid_deepmask.recipes.evaluate import evaluate

    torch.save(DeepMaskDPRNNTasNet(n_src=2, n_repeats=1, bn_chan=8, hid_size=8, n_filters=16).serialize(), tmp_path / "mlp.pth")
    with pytest.raises(ValueError, match="Oracle grouping needs an overseparation model .* is a DeepMaskDPRNNTasNet"):
        evaluate(tmp_path / "mlp.pth", corpus_24 / "tt", tmp_path / "eval", n_src=2, oracle_grouping=True)


def test_model_takes_its_separators_section_of_the_conf():
    from asteroid_deepmask.recipes.train import conf_with_overrides, model_from_conf

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
    from asteroid_deepmask.recipes.train import conf_with_overrides, train

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


def test_study_trains_evaluates_and_reports_a_row_through_the_demo_recipe(corpus_24, tmp_path):
    from asteroid_deepmask.recipes.study import StudyBudget, run_study, select_study_rows, write_study_report

    rows, exp_root = select_study_rows(["baseline"]), tmp_path / "study"
    budget = StudyBudget(epochs=1, steps_per_epoch=2, segment=0.5)
    json_root = corpus_24.parents[2]
    [first] = run_study(rows, [0], ROOT / "egs" / "demo", exp_root, json_root, budget, python=sys.executable)
    assert first["status"] == "run"
    run = exp_root / "baseline_seed0"
    assert torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 2  # the budget, no more
    assert json.loads((run / "study_run.json").read_text())["budget"]["steps_per_epoch"] == 2
    [again] = run_study(rows, [0], ROOT / "egs" / "demo", exp_root, json_root, budget, python=sys.executable)
    assert again["status"] == "done"  # finished runs are not redone
    text = write_study_report(rows, exp_root, tmp_path / "report").read_text()
    metrics = json.loads((run / "eval" / "final_metrics.json").read_text())
    assert f"| Baseline (P = C) | 2 | 1 | {metrics['si_sdri']:.2f} | {metrics['sdri']:.2f} |" in text


def test_sdr_matches_mir_eval_and_si_sdr_matches_asteroid():
    import mir_eval
    from asteroid.losses import singlesrc_neg_sisdr

    rng = np.random.default_rng(0)
    sources = rng.standard_normal((2, 8000))
    estimates = sources[::-1] + 0.3 * rng.standard_normal((2, 8000))  # swapped order
    mixture = sources.sum(0)
    metrics = utterance_metrics(mixture, sources, estimates)
    assert metrics["perm"] == [1, 0]
    ref_sdr, _, _, ref_perm = mir_eval.separation.bss_eval_sources(sources, estimates)
    assert metrics["sdr"] == pytest.approx(ref_sdr.mean(), abs=1e-3)
    ordered = torch.from_numpy(estimates[metrics["perm"]])
    asteroid_si_sdr = -singlesrc_neg_sisdr(ordered, torch.from_numpy(sources)).mean().item()
    assert metrics["si_sdr"] == pytest.approx(asteroid_si_sdr, abs=1e-3)
    mix_si_sdr = -singlesrc_neg_sisdr(torch.from_numpy(np.stack([mixture] * 2)), torch.from_numpy(sources)).mean().item()
    assert metrics["si_sdri"] == pytest.approx(asteroid_si_sdr - mix_si_sdr, abs=1e-3)
