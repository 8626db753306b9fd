"""The demo recipe (egs/demo/run.sh) end to end at toy size, and its option parsing."""
import json
import subprocess
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]


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


def test_demo_recipe_rejects_unknown_options(tmp_path):
    result = subprocess.run(["bash", str(ROOT / "egs" / "demo" / "run.sh"), "--n_trian", "3"], capture_output=True, text=True)
    assert result.returncode != 0 and "unknown option --n_trian" in result.stderr


