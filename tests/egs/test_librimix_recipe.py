"""egs/librimix/run.sh end to end, as a user runs it: pointed at a LibriMix checkout whose metadata are
verbatim excerpts of the official files (tests/fixtures/LibriMix), and at fake LibriSpeech and WHAM!
noise trees holding exactly the files they name. Generated Libri{n}Mix and dynamic mixing from
LibriSpeech's speakers, 2 and 3 speakers, 8 and 16 kHz."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from fakes import TOY_TRAIN_ARGS, libri_speakers

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def trees(librimix_trees):
    return librimix_trees


def _run(tmp_path, trees, *args, name="run"):
    libri, noise, checkout = trees
    command = [
        "bash", str(ROOT / "egs" / "librimix" / "run.sh"), "--python", sys.executable, "--librispeech_dir", str(libri),
        "--wham_dir", str(noise), "--librimix_metadata", str(checkout), "--data_root", str(tmp_path / name / "data"),
        "--exp_root", str(tmp_path / name / "exp"), "--max_epochs", "1", "--workers", "1",
        "--train_args", TOY_TRAIN_ARGS + " --segment 0.5 --examples_per_epoch 8", *args,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return tmp_path / name


def _files(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*.wav"))}


@pytest.mark.parametrize("n_src, rate, task", [("2", "8000", "sep_noisy"), ("3", "16000", "sep_clean")])
def test_both_training_modes_run_end_to_end_and_share_dev_and_test(trees, tmp_path, n_src, rate, task):
    args = ("--n_src", n_src, "--sample_rate", rate, "--task", task)
    generated = _run(tmp_path, trees, *args, name="generated")
    dynamic = _run(tmp_path, trees, *args, "--dynamic_mixing", "true", "--stop_stage", "6", name="dynamic")
    mix = f"data/Libri{n_src}Mix/wav{int(rate) // 1000}k/min"
    for subset in ("dev", "test"):
        assert _files(generated / mix / subset) == _files(dynamic / mix / subset)  # the same whatever the training mode
    assert (generated / mix / "train-100").is_dir() and not (dynamic / mix / "train-100").exists()  # on the fly: never written

    suffix = f"deepmask_libri{n_src}mix_{int(rate) // 1000}k"
    for run, exp in ((generated, suffix), (dynamic, suffix + "_dm")):
        exp_dir = run / "exp" / exp
        conf = yaml.safe_load((exp_dir / "conf.yml").read_text())
        model = torch.load(exp_dir / "best_model.pth", weights_only=True)
        # The filterbank keeps 2 ms windows and 1 ms hops at 16 kHz; the model and its metrics carry the rate.
        assert model["model_args"]["sample_rate"] == int(rate)
        assert (model["model_args"]["kernel_size"], model["model_args"]["stride"]) == (16 * int(rate) // 8000, 8 * int(rate) // 8000)
        assert conf["data"]["task"] == task and conf["data"]["n_src"] == int(n_src)
        final = json.loads((exp_dir / "eval" / "final_metrics.json").read_text())
        assert final["n_utterances"] == 4  # the official test set, whatever the training mode
        assert (exp_dir / "report.md").is_file()

    card = next((dynamic / "exp" / (suffix + "_dm") / "publish").glob("*.md")).read_text()
    assert f"Libri{n_src}Mix at {int(rate) // 1000} kHz" in card and "CC BY 4.0" in card
    assert ("CC BY-NC 4.0" in card) == (task == "sep_noisy")
    assert f"license: {'cc-by-nc-4.0' if task == 'sep_noisy' else 'cc-by-4.0'}" in card


def test_dynamic_mixing_draws_distinct_training_speakers_only(trees, tmp_path):
    from asteroid_deepmask.data.datasets import make_training_dataset

    run = _run(tmp_path, trees, "--dynamic_mixing", "true", "--n_src", "3", "--stop_stage", "3", name="dm3")
    conf = yaml.safe_load((run / "exp" / "deepmask_libri3mix_8k_dm" / "conf.yml").read_text())
    dataset, _ = make_training_dataset(conf)
    train = set(libri_speakers()["train-clean-100"])
    assert {speaker.name for speaker in dataset.bank.speakers} == train
    for index in range(20):
        _, _, speakers, _ = dataset.draw(0, index)
        assert len(set(speakers)) == 3 and set(speakers) <= train  # never the same speaker twice, never dev or test


def test_the_recipe_refuses_a_wrong_librispeech_folder_and_a_metadata_folder_without_csvs(trees, tmp_path):
    libri, noise, metadata = trees
    base = ["bash", str(ROOT / "egs" / "librimix" / "run.sh"), "--python", sys.executable, "--data_root", str(tmp_path / "d")]
    result = subprocess.run(base + ["--librispeech_dir", str(libri / "dev-clean"), "--librimix_metadata", str(metadata)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode != 0 and "has no dev-clean/: expected LibriSpeech/dev-clean/<speaker>/<chapter>/*.flac" in result.stderr
    (tmp_path / "empty").mkdir()
    result = subprocess.run(base + ["--librispeech_dir", str(libri), "--librimix_metadata", str(tmp_path / "empty")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode != 0 and "No Libri2Mix metadata in" in result.stderr and "libri2mix_dev-clean.csv" in result.stderr
