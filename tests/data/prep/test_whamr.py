"""WHAMR!: the official scripts' interface (a stand-in script with the same arguments and layout),
the reverberant-target dataset, and the recipe end to end at toy size."""
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from asteroid_deepmask.data.datasets import WhamrDataset
from asteroid_deepmask.data.prep import whamr
from fakes import TOY_TRAIN_ARGS

ROOT = Path(__file__).resolve().parents[3]
# Writes WHAMR!'s layout from a converted WSJ0 tree: reverberant sources are the anechoic ones
# convolved with a decaying impulse response, so the two always differ.
FAKE_SCRIPT = '''
import argparse, pathlib, numpy as np, soundfile as sf
from scipy.signal import fftconvolve, resample_poly
p = argparse.ArgumentParser()
p.add_argument("--wsj0-root"); p.add_argument("--wham-noise-root"); p.add_argument("--output-dir")
a = p.parse_args()
utts = sorted(pathlib.Path(a.wsj0_root, "wsj0").rglob("*.wav"))
rir = np.exp(-np.arange(400) / 60.0) * np.random.default_rng(0).standard_normal(400) * 0.3
rir[0] = 1.0
for i, split in enumerate(["tr", "cv", "tt"]):
    out = pathlib.Path(a.output_dir, "wav8k", "min", split)
    noise = sorted(pathlib.Path(a.wham_noise_root, split).glob("*.wav"))
    for k in range(4):
        s = [resample_poly(sf.read(utts[(4 * i + k + j) % len(utts)])[0], 1, 2) for j in (0, 5)]
        n = min(len(x) for x in s)
        dry = [x[:n] * 0.3 for x in s]
        wet = [fftconvolve(x, rir)[:n] for x in dry]
        noi = sf.read(noise[k % len(noise)])[0][:n]
        name = f"utt{k}_0.5_other{k}_-0.5.wav"
        files = {"s1_anechoic": dry[0], "s2_anechoic": dry[1], "s1_reverb": wet[0], "s2_reverb": wet[1],
                 "noise": noi, "mix_both_reverb": wet[0] + wet[1] + noi, "mix_clean_anechoic": dry[0] + dry[1]}
        for folder, x in files.items():
            (out / folder).mkdir(parents=True, exist_ok=True)
            sf.write(out / folder / name, x, 8000, subtype="FLOAT")
'''


@pytest.fixture(scope="module")
def fake_whamr_sources(tmp_path_factory):
    """The scripts as a .tar.gz and the noise as a zip, as they are downloaded."""
    root = tmp_path_factory.mktemp("whamr_sources")
    scripts = root / "whamr_scripts"
    scripts.mkdir()
    (scripts / "create_wham_from_scratch.py").write_text(FAKE_SCRIPT)
    with tarfile.open(root / "whamr_scripts.tar.gz", "w:gz") as tf:
        tf.add(scripts, arcname="whamr_scripts")
    rng = np.random.default_rng(1)
    with zipfile.ZipFile(root / "wham_noise.zip", "w") as zf:
        for split in ("tr", "cv", "tt"):
            for k in range(2):
                path = root / f"{split}{k}.wav"
                sf.write(path, 0.01 * rng.standard_normal(40000), 8000)
                zf.write(path, f"wham_noise/{split}/{k}.wav")
    return root


def test_reverberant_targets_are_returned_and_anechoic_stays_an_option(fake_wsj0, fake_whamr_sources, tmp_path):
    from asteroid_deepmask.data.prep import wsj0

    wav_root = wsj0.convert_wsj0_tree(fake_wsj0 / "wsj0", tmp_path / "wav", workers=1)
    work = tmp_path / "work"
    work.mkdir()
    scripts = whamr.fetch_whamr_scripts(work, (fake_whamr_sources / "whamr_scripts.tar.gz").as_uri())
    noise = whamr.fetch_wham_noise(work, str(fake_whamr_sources / "wham_noise.zip"))
    corpus = whamr.create_whamr(scripts, wav_root, noise, tmp_path / "whamr")
    json_dir = whamr.write_whamr_metadata(corpus, tmp_path / "json")
    split = corpus / "wav8k" / "min" / "tt"
    for segment in (None, 0.5):
        reverberant = WhamrDataset(str(json_dir / "tt"), segment=segment)
        anechoic = WhamrDataset(str(json_dir / "tt"), segment=segment, targets="anechoic")
        assert len(reverberant) == len(anechoic) == 4
        for idx in range(4):
            name = Path(reverberant.mix[idx][0]).name
            assert Path(reverberant.sources[1][idx][0]) == (split / "s2_reverb" / name).resolve()
            assert Path(anechoic.sources[1][idx][0]) == (split / "s2_anechoic" / name).resolve()
    dataset = WhamrDataset(str(json_dir / "tt"), segment=None)
    mixture, sources = dataset[0]
    name = Path(dataset.mix[0][0]).name
    expected = np.stack([sf.read(split / f"s{k}_reverb" / name, dtype="float32")[0] for k in (1, 2)])
    np.testing.assert_array_equal(sources.numpy(), expected)
    assert not np.allclose(expected[0], sf.read(split / "s1_anechoic" / name, dtype="float32")[0])
    assert dataset.get_infos()["targets"] == "reverberant"
    with pytest.raises(ValueError, match="targets must be one of"):
        WhamrDataset(str(json_dir / "tt"), targets="dry")


def test_wrong_whamr_sources_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="has no create_wham_from_scratch.py"):
        whamr.fetch_whamr_scripts(tmp_path, str(tmp_path))
    with pytest.raises(FileNotFoundError, match="not the WHAM! noise folder: expected tr, cv, tt"):
        whamr.fetch_wham_noise(tmp_path, str(tmp_path))


def test_whamr_recipe_runs_end_to_end_from_the_disks(fake_wsj0, fake_whamr_sources, tmp_path):
    command = [
        "bash", str(ROOT / "egs" / "whamr" / "run.sh"), "--python", sys.executable,
        "--wsj0_root", str(fake_wsj0 / "wsj0"), "--whamr_scripts", str(fake_whamr_sources / "whamr_scripts.tar.gz"),
        "--wham_noise", str(fake_whamr_sources / "wham_noise.zip"), "--workers", "2", "--train_args", TOY_TRAIN_ARGS + " --max_epochs 1",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    exp = tmp_path / "exp" / "deepmask_whamr"
    for name in ["best_model.pth", "eval/all_metrics.csv", "eval/final_metrics.json", "report.md", "publish/deepmask_whamr.md"]:
        assert (exp / name).is_file(), name
    assert "targets: reverberant" in (exp / "conf.yml").read_text()
    assert torch.load(exp / "best_model.pth", weights_only=True)["model_name"] == "DeepMaskDPRNNTasNet"
