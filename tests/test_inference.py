"""Separation of files: chunked overlap-add, resampling, channels, and clear errors for bad input."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr
import torch

from asteroid_deepmask import DeepMaskDPRNNTasNet
from asteroid_deepmask.data.prep.synthetic import generate_split
from asteroid_deepmask.deploy import Separator
from asteroid_deepmask.engine.evaluate import utterance_metrics
from asteroid_deepmask.inference import (
    InputError, collect_inputs, open_input, separate_files, separate_long, separate_stream,
)  # fmt: skip


def read_input(path, sample_rate: int, resample: bool = True, channels: str = "downmix", min_samples: int = 1):
    """The whole file as (channels, time) float32 at ``sample_rate``, and the file's own rate."""
    audio_input = open_input(path, sample_rate, resample, channels, min_samples)
    return np.concatenate(list(audio_input.blocks()), axis=-1), audio_input.rate


class GainsModel(Separator):
    """Splits x into (0.3 x, 0.7 x), in a source order that flips at every call, as a chunked
    separator's may: only a correct reordering and a complementary crossfade give back 0.3 x, 0.7 x."""

    backend, precision = "torch", "fp32"
    sample_rate, n_src, min_samples = 8000, 2, 1

    def __init__(self):
        self.calls = 0

    def __call__(self, x):
        self.calls += 1
        out = np.stack([0.3 * x, 0.7 * x], axis=-2)
        return out[..., ::-1, :] if self.calls % 2 == 0 else out


@pytest.mark.parametrize("seconds,chunk,hop", [(10.0, 2.0, 1.0), (10.3, 2.0, 1.5), (3.0, 1.0, 0.9), (1.0, 2.0, None), (30.0, 8.0, None)])
def test_chunks_are_reordered_and_crossfaded_back_to_the_one_pass_result(seconds, chunk, hop):
    rng = np.random.default_rng(0)
    audio = rng.standard_normal((1, int(seconds * 8000))).astype(np.float32)
    model = GainsModel()
    out = separate_long(model, audio, chunk_seconds=chunk, hop_seconds=hop)
    np.testing.assert_allclose(out[0], np.stack([0.3 * audio[0], 0.7 * audio[0]]), atol=1e-5)
    if seconds > chunk:
        assert model.calls > 2


@pytest.mark.parametrize("hop", [1.0, 0.4])
def test_chunks_must_overlap_by_at_most_half(hop):
    with pytest.raises(ValueError, match="at least half of chunk_seconds and below it"):
        separate_long(GainsModel(), np.zeros((1, 40000), np.float32), chunk_seconds=1.0, hop_seconds=hop)


def test_chunked_separation_of_a_real_model_stays_close_to_one_pass(tmp_path):
    model = DeepMaskDPRNNTasNet.from_pretrained("deepmask-demo-2src").eval()
    directory = generate_split(tmp_path, 2, "tt", 2, seed=0, workers=1)
    for mix_path in sorted((directory / "mix").iterdir()):
        mixture, _ = sf.read(mix_path, dtype="float32")
        sources = np.stack([sf.read(directory / f"s{k}" / mix_path.name, dtype="float32")[0] for k in (1, 2)])
        one_pass = separate_long(model, mixture[None], chunk_seconds=None)[0]
        chunked = separate_long(model, mixture[None], chunk_seconds=1.5, hop_seconds=0.75)[0]
        full = utterance_metrics(mixture, sources, one_pass)["si_sdri"]
        assert utterance_metrics(mixture, sources, chunked)["si_sdri"] > full - 1.5


@pytest.fixture
def model():
    return DeepMaskDPRNNTasNet(n_src=2, n_repeats=1, bn_chan=8, hid_size=8, chunk_size=20, hop_size=10, n_filters=16).eval()


def _write(path, data, rate=8000):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), data, rate)
    return path


def test_batch_writes_every_good_file_and_reports_every_bad_one(model, tmp_path):
    rng = np.random.default_rng(0)
    good = _write(tmp_path / "in" / "good.wav", 0.1 * rng.standard_normal(8000))
    silent = _write(tmp_path / "in" / "sub" / "silence.wav", np.zeros(4000))
    bad = {
        "empty": _write(tmp_path / "in" / "empty.wav", np.zeros(0)),
        "short": _write(tmp_path / "in" / "short.wav", np.ones(10) * 0.1),
        "nan": tmp_path / "in" / "nan.wav",
        "text": tmp_path / "in" / "notes.wav",
    }
    bad["text"].write_text("not audio")
    sf.write(str(bad["nan"]), np.r_[np.full(4000, 0.1), [0.1, np.nan] * 100], 8000, subtype="FLOAT")
    results = separate_files(model, collect_inputs([str(tmp_path / "in")]), tmp_path / "out")
    errors = {r.input.name: r.error for r in results if r.error}
    assert set(errors) == {"empty.wav", "short.wav", "nan.wav", "notes.wav"}
    assert "is empty: expected at least 16 samples" in errors["empty.wav"]
    assert "fewer than the model's encoder kernel (16)" in errors["short.wav"]
    assert "has NaN or infinite samples (the first at 0.500 s): expected finite audio" in errors["nan.wav"]
    assert "not an audio file soundfile can read" in errors["notes.wav"]
    for name in ("good_s1.wav", "good_s2.wav", "sub/silence_s1.wav", "sub/silence_s2.wav"):
        data, rate = sf.read(tmp_path / "out" / name)
        assert rate == 8000 and np.isfinite(data).all()
    assert len(sf.read(tmp_path / "out" / "good_s1.wav")[0]) == len(sf.read(good)[0])
    assert len(sf.read(tmp_path / "out" / "sub" / "silence_s1.wav")[0]) == len(sf.read(silent)[0])
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good_s1.wav", "good_s2.wav", "sub"]  # no partial files


def test_streamed_blocks_give_the_same_output_as_one_array():
    torch.manual_seed(0)
    model = DeepMaskDPRNNTasNet(n_src=2, n_repeats=1, bn_chan=8, hid_size=8, chunk_size=20, hop_size=10, n_filters=16).eval()
    audio = np.random.default_rng(0).standard_normal((2, 30011)).astype(np.float32)
    whole = separate_long(model, audio, chunk_seconds=1.0, hop_seconds=0.6)
    cuts = [0, 1, 777, 8000, 8001, 20000, 30011]
    streamed = list(separate_stream(model, (audio[:, a:b] for a, b in zip(cuts, cuts[1:])), chunk_seconds=1.0, hop_seconds=0.6))
    assert len(streamed) > 3  # output comes out while input is still being read
    np.testing.assert_allclose(np.concatenate(streamed, axis=-1), whole, atol=1e-6)


def test_other_sample_rates_are_resampled_there_and_back_or_refused(model, tmp_path):
    wav = _write(tmp_path / "x16k.wav", 0.1 * np.random.default_rng(0).standard_normal(16000), rate=16000)
    [result] = separate_files(model, [(wav, Path("x16k"))], tmp_path / "out")
    data, rate = sf.read(result.outputs[0])
    assert rate == 16000 and len(data) == 16000
    with pytest.raises(InputError, match="is at 16000 Hz; the model expects 8000 Hz"):
        read_input(wav, 8000, resample=False)
    # read in blocks, the resampled stream is soxr's one-shot resampling, sample for sample
    odd = _write(tmp_path / "x44k.wav", 0.1 * np.random.default_rng(1).standard_normal(3 * 44100 + 7), rate=44100)
    streamed, rate = read_input(odd, 8000)
    np.testing.assert_allclose(streamed[0], soxr.resample(sf.read(odd, dtype="float32")[0], 44100, 8000), atol=1e-6)
    [result] = separate_files(model, [(odd, Path("x44k"))], tmp_path / "out")
    assert sf.info(str(result.outputs[1])).frames == 3 * 44100 + 7


def test_multichannel_input_is_downmixed_or_separated_per_channel(model, tmp_path):
    stereo = _write(tmp_path / "st.wav", 0.1 * np.random.default_rng(0).standard_normal((8000, 2)))
    [downmixed] = separate_files(model, [(stereo, Path("st"))], tmp_path / "down")
    assert sf.info(str(downmixed.outputs[0])).channels == 1
    [per_channel] = separate_files(model, [(stereo, Path("st"))], tmp_path / "each", channels="separate")
    assert sf.info(str(per_channel.outputs[1])).channels == 2


def test_outputs_are_never_overwritten_silently(model, tmp_path):
    wav = _write(tmp_path / "a.wav", 0.1 * np.random.default_rng(0).standard_normal(8000))
    separate_files(model, [(wav, Path("a"))], tmp_path / "out")
    [again] = separate_files(model, [(wav, Path("a"))], tmp_path / "out")
    assert "exists: pass --force" in again.error
    [forced] = separate_files(model, [(wav, Path("a"))], tmp_path / "out", force=True)
    assert forced.error is None


def test_missing_inputs_and_unwritable_output_folders_are_clear_errors(model, tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="no such file, folder or glob match"):
        collect_inputs([str(tmp_path / "nothing*.wav")])
    locked = _write(tmp_path / "locked.wav", np.zeros(8000))
    # root reads any file whatever its mode, so the permission check is what is made to say no
    monkeypatch.setattr("asteroid_deepmask.inference.os.access", lambda path, mode: Path(path) != locked)
    [result] = separate_files(model, [(locked, Path("locked"))], tmp_path / "out")
    assert "not readable (permission denied)" in result.error
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(InputError, match="Cannot write to the output folder"):
        separate_files(model, [], blocker / "out")


def test_separate_command_reports_failures_and_exits_non_zero(tmp_path):
    rng = np.random.default_rng(0)
    _write(tmp_path / "in" / "ok.wav", 0.1 * rng.standard_normal(8000))
    (tmp_path / "in" / "broken.wav").write_bytes(b"RIFF\x00\x00")
    command = [sys.executable, "-m", "asteroid_deepmask.cli", "separate", "deepmask-demo-2src", str(tmp_path / "in"), "-o", str(tmp_path / "out")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert "Separated 1 of 2 files" in result.stdout and "broken.wav" in result.stderr
    assert (tmp_path / "out" / "ok_s2.wav").is_file()


@pytest.mark.parametrize("extra", [[], ["-w", "4000", "--ola-window-type", "hanning"]])
def test_infer_takes_asteroid_infers_arguments_for_our_models_and_asteroids(tmp_path, extra):
    from asteroid.models import DPRNNTasNet

    wav = _write(tmp_path / "in" / "mix.wav", 0.1 * np.random.default_rng(0).standard_normal(12000))
    asteroid_model = tmp_path / "dprnn.pth"
    torch.save(DPRNNTasNet(n_src=2, n_repeats=1, bn_chan=8, hid_size=8, n_filters=16).serialize(), asteroid_model)
    for model, out in (("deepmask-demo-2src", "ours"), (str(asteroid_model), "asteroid")):
        command = [sys.executable, "-m", "asteroid_deepmask.cli", "infer", model, "--files", str(wav), "-o", str(tmp_path / out), *extra]
        result = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-2000:]
        for k in (1, 2):
            data, rate = sf.read(tmp_path / out / f"mix_est{k}.wav")
            assert rate == 8000 and len(data) == 12000


def test_asteroids_separate_api_works_for_our_models(model, tmp_path):
    wav = torch.randn(1, 8000)
    assert model.separate(wav).shape == (1, 2, 8000)
    path = _write(tmp_path / "m.wav", 0.1 * np.random.default_rng(0).standard_normal(8000))
    model.separate(str(path))  # Asteroid writes m_est1.wav, m_est2.wav beside it
    assert (tmp_path / "m_est1.wav").is_file() and (tmp_path / "m_est2.wav").is_file()
