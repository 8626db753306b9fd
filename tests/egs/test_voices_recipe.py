"""The real-voices recipe (egs/voices/run.sh) end to end on a toy folder of speaker folders, and
the precision it trains at by default ("auto")."""
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import yaml

from fakes import TOY_TRAIN_ARGS, speech_like

ROOT = Path(__file__).resolve().parents[2]
SPEAKERS = {"tr": 4, "cv": 3, "tt": 3, "xt": 2}  # xt: a cross-corpus test set, optional


def write_speakers(root: Path) -> Path:
    """ROOT/{tr,cv,tt,xt}/<speaker>/clip*.wav: two clips of harmonic "speech" per speaker, at 16 kHz
    (the recipe resamples to 8 kHz), a pitch of its own for each speaker."""
    rng = np.random.default_rng(0)
    for split, count in SPEAKERS.items():
        for k in range(count):
            for clip in range(2):
                path = root / split / f"{split}spk{k}" / f"clip{clip}.wav"
                path.parent.mkdir(parents=True, exist_ok=True)
                sf.write(path, speech_like(rng, rng.uniform(1.5, 2.5)) / 32768, 16000, subtype="PCM_16")
    return root


def _run(tmp_path, *args):
    command = [
        "bash", str(ROOT / "egs" / "voices" / "run.sh"), "--python", sys.executable,
        # Relative to where the script is run: the caller's folder, not egs/voices.
        "--speakers_dir", "speakers", "--corpus_dir", str(tmp_path / "corpus"), "--json_dir", str(tmp_path / "data"),
        "--exp_root", str(tmp_path / "exp"), "--n_valid", "8", "--n_test", "8", *args,
    ]
    env = {**os.environ, "ASTEROID_DEEPMASK_CACHE": str(tmp_path / "cache")}
    return subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env)


def _snapshot(*folders):
    """path -> (content digest, mtime) of every file under ``folders``."""
    return {
        str(p): (hashlib.sha1(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for folder in folders for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_voices_recipe_runs_end_to_end_on_your_own_speaker_folders(tmp_path):
    speakers = write_speakers(tmp_path / "speakers")
    result = _run(tmp_path, "--stage", "2", "--stop_stage", "6",
                  "--train_args", f"{TOY_TRAIN_ARGS} --examples_per_epoch 8 --max_epochs 1")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    mixtures, data = tmp_path / "corpus" / "mixtures" / "2speakers", tmp_path / "data" / "2speakers"
    for split in ("cv", "tt", "xt"):
        assert len(json.loads((data / split / "mix.json").read_text())) == 8
        assert (mixtures / split / "mixtures.csv").is_file()
    exp = tmp_path / "exp" / "deepmask_2src_speakers"  # the default tag names your folder
    for name in ("best_model.pth", "eval/final_metrics.json", "report.md", "checkpoints/last.ckpt"):
        assert (exp / name).is_file(), name
    final = json.loads((exp / "eval" / "final_metrics.json").read_text())
    assert final["n_utterances"] == 8 and np.isfinite(final["si_sdri"])
    report = (exp / "report.md").read_text()
    assert "SI-SDRi" in report and "| ttspk" in report  # per speaker: no voices manifest here
    # The cross-corpus set is evaluated beside tt, into eval_xt, and reported with its own table.
    cross = json.loads((exp / "eval_xt" / "final_metrics.json").read_text())
    assert cross["n_utterances"] == 8 and np.isfinite(cross["si_sdri"]) and cross != final
    assert json.loads((exp / "eval_xt" / "test_set.json").read_text()) == {"name": "xt", "test_dir": str((data / "xt").resolve())}
    section = report[report.index("## Test set `xt` (cross-corpus"):]
    assert f"| {cross['si_sdri']:.2f} |" in section and "| xtspk0 |" in section and "| ttspk" not in section
    card = next((exp / "publish").glob("*.md")).read_text()  # the model card carries both test sets
    assert f"| {final['si_sdri']:.2f} |" in card and "## Test set `xt` (cross-corpus" in card and f"| {cross['si_sdri']:.2f} |" in card

    conf = yaml.safe_load((exp / "conf.yml").read_text())
    assert conf["data"]["train_dir"] is None  # training reads speaker folders: no tr json anywhere
    assert Path(conf["data"]["train_speakers"]).resolve() == (speakers / "tr").resolve()
    assert conf["data"]["valid_dir"] == str(data / "cv") and conf["data"]["test_dir"] == str(data / "tt")
    assert conf["training"]["precision"] in ("bf16-mixed", "32-true")  # "auto", resolved for this machine
    assert conf["training"]["max_time"] == 1500  # the recipe's default budget
    recorded = json.loads((exp / "corpus.json").read_text())
    assert recorded["train_speakers"]["root"] == str((speakers / "tr").resolve())
    assert recorded["train_speakers"]["speakers"] == 4 and recorded["train_speakers"]["examples_per_epoch"] == 8
    assert recorded["test_dir"]["speakers_dir"] == str((speakers / "tt").resolve())
    assert torch.load(exp / "best_model.pth", weights_only=True)["model_name"] == "DeepMaskDPRNNTasNet"

    # Stage 2 again (and stage 1, skipped for your own speakers): nothing rewritten, nothing changed.
    before = _snapshot(mixtures, data)
    again = _run(tmp_path, "--stage", "1", "--stop_stage", "2")
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "Stage 1: skipped" in again.stdout
    after = _snapshot(mixtures, data)
    assert {p: digest for p, (digest, _) in after.items()} == {p: digest for p, (digest, _) in before.items()}
    assert all(after[p][1] == before[p][1] for p in after if not p.endswith(".json") or p.endswith("corpus.json"))


def test_voices_recipe_says_where_the_training_speakers_are_missing(tmp_path):
    result = _run(tmp_path, "--stage", "3", "--stop_stage", "3")
    assert result.returncode != 0 and "no training speakers at" in result.stderr


