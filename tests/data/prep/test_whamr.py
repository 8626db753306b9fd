"""WHAMR!: the official scripts run in an environment of their own where their pinned pyroomacoustics
0.3.1 builds (built here, from PyPI); a stand-in for the scripts with their interface, their data files
(verbatim excerpts, tests/fixtures/whamr) and their pyroomacoustics calls; the reverberant-target
dataset; and the recipe end to end at toy size. With ASTEROID_DEEPMASK_WHAMR_SCRIPTS pointing at the
official scripts, the same run goes through the official code itself."""
import os
import shutil
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
from fakes import FIXTURES, TOY_TRAIN_ARGS

ROOT = Path(__file__).resolve().parents[3]
WHAMR_DATA = FIXTURES / "whamr" / "data"
OFFICIAL_SCRIPTS = os.environ.get("ASTEROID_DEEPMASK_WHAMR_SCRIPTS")  # a copy of MERL's whamr_scripts, when a user has one
# Our stand-in for create_wham_from_scratch.py: its arguments, its data/ files and its WHAM! noise
# metadata, and the pyroomacoustics 0.3.1 calls of its WhamRoom (ShoeBox(absorption=...), the image
# source model, SoundSource.get_rir), which today's pyroomacoustics no longer has; 8 kHz min only.
# The fixtures have no tr room parameters (no public copy was readable): tr reuses cv's rooms.
STAND_IN_SCRIPT = """
import argparse, os, numpy as np, pandas as pd, soundfile as sf, pyroomacoustics as pra
from pyroomacoustics.parameters import constants
from scipy.signal import fftconvolve, resample_poly
p = argparse.ArgumentParser()
p.add_argument("--wsj0-root"); p.add_argument("--wham-noise-root"); p.add_argument("--output-dir")
a = p.parse_args()
for split in ("tr", "cv", "tt"):
    names = pd.read_csv(f"data/mix_2_spk_filenames_{split}.csv").set_index("output_filename")
    rooms = pd.read_csv(f"data/reverb_params_{'cv' if split == 'tr' else split}.csv")
    scaling = np.load(os.path.join(a.wham_noise_root, "metadata", f"scaling_{split}.npz"), allow_pickle=True)
    out = os.path.join(a.output_dir, "wav8k", "min", split)
    for i, name in enumerate(scaling["utterance_id"]):
        r = rooms.iloc[i]
        size, c = [r.room_x, r.room_y, r.room_z], constants.get("c")
        absorption = 24 * np.prod(size) * np.log(10.0) / (c * 2 * (size[0] * size[1] + size[0] * size[2] + size[1] * size[2]) * r.T60)
        room = pra.room.ShoeBox(size, fs=16000, t0=0.0, absorption=absorption, max_order=int(np.ceil(r.T60 * c / min(size))),
                                sigma2_awgn=None, sources=None, mics=None)
        room.add_source([r.s1_x, r.s1_y, r.s1_z]); room.add_source([r.s2_x, r.s2_y, r.s2_z])
        room.add_microphone_array(pra.MicrophoneArray(np.array([[r.micL_x, r.micL_y, r.mic_z], [r.micR_x, r.micR_y, r.mic_z]]).T, 16000))
        room.image_source_model()
        rirs = [s.get_rir(room.mic_array.R[:, 0], room.visibility[k][0], 16000, room.t0)[: int(np.ceil(r.T60 * 16000))] for k, s in enumerate(room.sources)]
        dry = [sf.read(os.path.join(a.wsj0_root, names.loc[name, f"s{k}_path"]))[0] * scaling["scaling_wsjmix_8k_min"][i][k - 1] for k in (1, 2)]
        n = min(len(x) for x in dry)
        wet = [resample_poly(fftconvolve(x, h), 1, 2)[: n // 2] for x, h in zip(dry, rirs)]
        dry = [resample_poly(x, 1, 2)[: n // 2] for x in dry]
        noise = resample_poly(sf.read(os.path.join(a.wham_noise_root, split, name))[0][:, 0], 1, 2)[: n // 2]
        files = {"s1_anechoic": dry[0], "s2_anechoic": dry[1], "s1_reverb": wet[0], "s2_reverb": wet[1], "noise": noise,
                 "mix_both_reverb": wet[0] + wet[1] + noise, "mix_clean_anechoic": dry[0] + dry[1]}
        for folder, x in files.items():
            os.makedirs(os.path.join(out, folder), exist_ok=True)
            sf.write(os.path.join(out, folder, name), x, 8000, subtype="FLOAT")
"""


@pytest.fixture(scope="session")
def whamr_env(tmp_path_factory):
    """The scripts' environment, made as the recipe makes it (numpy 1.23.5, pyroomacoustics 0.3.1 from PyPI)."""
    return whamr.make_whamr_env(tmp_path_factory.mktemp("whamr_env") / "env")


def write_wham_noise(root: Path, seed: int = 1) -> Path:
    """``root/wham_noise``, as wham_noise.zip unpacks: two-channel 16 kHz noise named after each mixture
    of the fixture lists, and ``metadata/scaling_{split}.npz`` with the keys the scripts read."""
    rng = np.random.default_rng(seed)
    noise = root / "wham_noise"
    (noise / "metadata").mkdir(parents=True)
    for split in ("tr", "cv", "tt"):
        names = [line.split(",")[0] for line in (WHAMR_DATA / f"mix_2_spk_filenames_{split}.csv").read_text().splitlines()[1:]]
        (noise / split).mkdir()
        for name in names:
            sf.write(noise / split / name, 0.01 * rng.standard_normal((48000, 2)), 16000, subtype="FLOAT")
        arrays = {"utterance_id": np.array(names), "speech_start_sample_16k": np.zeros(len(names), int)}
        for rate in ("8k", "16k"):
            for length in ("min", "max"):
                arrays[f"scaling_wsjmix_{rate}_{length}"] = rng.uniform(0.5, 1.0, (len(names), 2))
                arrays[f"scaling_wham_speech_{rate}_{length}"] = rng.uniform(0.8, 1.0, len(names))
                arrays[f"scaling_wham_noise_{rate}_{length}"] = rng.uniform(0.5, 1.0, len(names))
        np.savez(noise / "metadata" / f"scaling_{split}.npz", **arrays)
    return noise


@pytest.fixture(scope="module")
def fake_whamr_sources(tmp_path_factory):
    """The scripts (the official ones when given, else the stand-in, with the data/ excerpts) as a .tar.gz,
    and the WHAM! noise as a zip, as they are downloaded."""
    root = tmp_path_factory.mktemp("whamr_sources")
    scripts = root / "whamr_scripts"
    if OFFICIAL_SCRIPTS:
        shutil.copytree(OFFICIAL_SCRIPTS, scripts)
    else:
        (scripts / "data").mkdir(parents=True)
        (scripts / whamr.SCRIPT).write_text(STAND_IN_SCRIPT)
        for path in WHAMR_DATA.glob("*.csv"):
            shutil.copy(path, scripts / "data" / path.name)
    with tarfile.open(root / "whamr_scripts.tar.gz", "w:gz") as tf:
        tf.add(scripts, arcname="whamr_scripts")
    noise = write_wham_noise(root)
    with zipfile.ZipFile(root / "wham_noise.zip", "w") as zf:
        for path in sorted(noise.rglob("*")):
            zf.write(path, path.relative_to(root).as_posix())
    return root


def test_the_environment_runs_pyroomacoustics_0_3_1_with_its_c_room_code(whamr_env):
    """`pip install pyroomacoustics` gives 0.10, where the scripts' ShoeBox(absorption=...) is a TypeError;
    0.3.1 fails to build with build isolation and to import with numpy >= 1.24 (np.float)."""
    probe = "import numpy, pyroomacoustics as pra; from pyroomacoustics.c_package import libroom_available; " \
            "print(pra.__version__, numpy.__version__, libroom_available)"
    result = subprocess.run([str(whamr_env), "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["0.3.1", "1.23.5", "True"]
    assert whamr.make_whamr_env(whamr_env.parents[1]) == whamr_env  # complete: kept, not rebuilt


def test_reverberant_targets_are_returned_and_anechoic_stays_an_option(fake_wsj0, fake_whamr_sources, whamr_env, tmp_path):
    from asteroid_deepmask.data.prep import wsj0

    wav_root = wsj0.convert_wsj0_tree(fake_wsj0 / "wsj0", tmp_path / "wav", workers=1)
    work = tmp_path / "work"
    work.mkdir()
    scripts = whamr.fetch_whamr_scripts(work, (fake_whamr_sources / "whamr_scripts.tar.gz").as_uri())
    noise = whamr.fetch_wham_noise(work, str(fake_whamr_sources / "wham_noise.zip"))
    corpus = whamr.create_whamr(scripts, wav_root, noise, tmp_path / "whamr", python=whamr_env)
    json_dir = whamr.write_whamr_metadata(corpus, tmp_path / "json")
    split = corpus / "wav8k" / "min" / "tt"
    for segment in (None, 0.5):
        reverberant = WhamrDataset(str(json_dir / "tt"), segment=segment)
        anechoic = WhamrDataset(str(json_dir / "tt"), segment=segment, targets="anechoic")
        assert len(reverberant) == len(anechoic) == 4  # the 4 rows of the fixture's tt list
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


def test_a_python_without_venv_support_is_one_line_with_what_to_do(tmp_path, monkeypatch):
    def no_ensurepip(*args, **kwargs):
        raise subprocess.CalledProcessError(1, ["python", "-m", "ensurepip"])

    monkeypatch.setattr(whamr.venv, "create", no_ensurepip)
    with pytest.raises(RuntimeError, match=r"Could not make the WHAMR! scripts' environment in .*apt-get install python3-venv"):
        whamr.make_whamr_env(tmp_path / "env")


def test_wrong_whamr_sources_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="has no create_wham_from_scratch.py"):
        whamr.fetch_whamr_scripts(tmp_path, str(tmp_path))
    with pytest.raises(FileNotFoundError, match="not the WHAM! noise folder: expected tr, cv, tt"):
        whamr.fetch_wham_noise(tmp_path, str(tmp_path))
    wav_root = tmp_path / "wav" / "wsj0" / "si_tr_s"
    wav_root.mkdir(parents=True)
    for split in ("tr", "cv", "tt"):
        (tmp_path / "noise" / split).mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=r"noise lacks metadata/scaling_tr.npz, .*: the WHAMR! scripts need the WHAM! noise folder"):
        whamr.create_whamr(tmp_path, tmp_path / "wav", tmp_path / "noise", tmp_path / "out", python=sys.executable)
    with pytest.raises(FileNotFoundError, match="is not a converted WSJ0 tree: the WHAMR! scripts read wsj0/si_tr_s"):
        whamr.create_whamr(tmp_path, tmp_path / "noise", tmp_path / "noise", tmp_path / "out", python=sys.executable)


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
