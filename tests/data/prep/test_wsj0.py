"""WSJ0 -> wsj0-2mix / wsj0-3mix on a fake WSJ0 (real folder and file names, SPHERE files),
and the wsj0 recipes end to end at toy size."""
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch
from scipy.signal import resample_poly

from asteroid_deepmask.data.levels import p56_active_power
from asteroid_deepmask.data.prep import wsj0, wsj0mix
from fakes import TOY_TRAIN_ARGS, write_sphere, write_sph2pipe_tarball

ROOT = Path(__file__).resolve().parents[3]


def test_sphere_files_convert_to_the_merged_wav_tree(fake_wsj0, tmp_path):
    out = wsj0.convert_wsj0_tree(fake_wsj0 / "disks", tmp_path / "wav", workers=1)
    wav = out / "wsj0" / "si_tr_s" / "01t" / "01ta0100.wav"
    data, rate = sf.read(wav, dtype="int16")
    raw = (fake_wsj0 / "disks" / "11-1.1" / "wsj0" / "si_tr_s" / "01t" / "01ta0100.wv1").read_bytes()[1024:]
    assert rate == 16000 and np.array_equal(data, np.frombuffer(raw, "<i2"))
    assert len(list(out.rglob("*.wav"))) == 16 and (out / "done.json").is_file()
    # An already-converted tree is used as it is.
    assert wsj0.convert_wsj0_tree(out, tmp_path / "unused") == out and not (tmp_path / "unused").exists()


def test_wrong_wsj0_root_names_what_was_expected(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist.*11-1.1/wsj0/si_tr_s"):
        wsj0.convert_wsj0_tree(tmp_path / "nowhere", tmp_path / "wav")
    (tmp_path / "empty" / "other").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="No WSJ0 utterances.*wv1"):
        wsj0.convert_wsj0_tree(tmp_path / "empty", tmp_path / "wav")
    not_sphere = tmp_path / "x.wv1"
    not_sphere.write_bytes(b"RIFF....")
    with pytest.raises(ValueError, match="not a NIST SPHERE"):
        wsj0.read_sphere(not_sphere)


def test_shorten_files_need_sph2pipe_and_go_through_it(tmp_path):
    path = tmp_path / "a.wv1"
    write_sphere(path, np.zeros(100), coding="pcm,embedded-shorten-v2.00")
    with pytest.raises(RuntimeError, match="shorten-compressed: sph2pipe is needed"):
        wsj0.read_sphere(path)
    # A stand-in sph2pipe that decodes to a known wav on stdout, called as the real one is.
    fake = tmp_path / "sph2pipe"
    fake.write_text(
        f"#!{sys.executable}\nimport io, sys, numpy, soundfile\n"
        "assert sys.argv[1:3] == ['-f', 'wav']\n"
        "out = io.BytesIO()\n"
        "soundfile.write(out, numpy.full(50, 0.25), 16000, format='WAV', subtype='PCM_16')\n"
        "sys.stdout.buffer.write(out.getvalue())\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    data, rate = wsj0.read_sphere(path, fake)
    assert rate == 16000 and data.shape == (50,) and np.allclose(data, 0.25)


def test_sph2pipe_is_downloaded_and_compiled(tmp_path):
    archive = write_sph2pipe_tarball(tmp_path, '#include <stdio.h>\nint main(void) { puts("sph2pipe"); return 0; }\n',
                                     tmp_path / "sph2pipe_v2.5.tar.gz")
    # The first URL fails, the second (a mirror) answers: the real download path, on local files.
    binary = wsj0.build_sph2pipe(tmp_path / "tools", [f"file://{tmp_path}/missing.tar.gz", archive.as_uri()])
    assert subprocess.run([str(binary)], capture_output=True, text=True).stdout == "sph2pipe\n"


@pytest.mark.parametrize("n_src", [2, 3])
def test_created_mixtures_are_the_sum_of_their_scaled_sources(fake_wsj0, tmp_path, n_src):
    wav_root = wsj0.convert_wsj0_tree(fake_wsj0 / "disks", tmp_path / "wav", workers=1)
    lists = wsj0mix.fetch_mixture_lists(tmp_path / "lists", n_src, (fake_wsj0 / "create-speaker-mixtures.zip").as_uri())
    corpus = wsj0mix.create_wsj0mix(wav_root, lists, tmp_path / "mix", n_src, workers=2)
    for split in ("tr", "cv", "tt"):
        entries = wsj0mix.read_mixture_list(lists[split])
        names = sorted(p.name for p in (corpus / split / "mix").glob("*.wav"))
        assert names == sorted(wsj0mix.mixture_name(pairs) for pairs in entries)
        for pairs in entries:
            name = wsj0mix.mixture_name(pairs)
            mixture, rate = sf.read(corpus / split / "mix" / name)
            sources = np.stack([sf.read(corpus / split / f"s{k}" / name)[0] for k in range(1, n_src + 1)])
            assert rate == 8000
            # The sum holds to 16-bit rounding; the loudest signal peaks at 0.9.
            np.testing.assert_allclose(mixture, sources.sum(0), atol=n_src / 32768)
            assert abs(max(np.abs(mixture).max(), np.abs(sources).max()) - 0.9) < 1e-3
            # Each source is its utterance at 8 kHz, at active level 0 dB (P.56, measured on the whole
            # utterance as MERL's script does), times its listed gain: one common factor remains.
            factors = []
            for (path, gain), source in zip(pairs, sources):
                full = resample_poly(sf.read(wav_root / path)[0], 1, 2)
                expected = (full / np.sqrt(p56_active_power(full, 8000)) * 10 ** (float(gain) / 20))[: len(source)]
                factor = float(source @ expected / (expected @ expected))
                np.testing.assert_allclose(source, factor * expected, atol=2 / 32768)
                factors.append(factor)
            np.testing.assert_allclose(factors, factors[0], rtol=1e-3)
            # "min": as long as the shortest source after resampling.
            shortest = min(sf.info(str(wav_root / path)).frames for path, _ in pairs) // 2
            assert abs(len(mixture) - shortest) <= 1
    # A finished split is kept: nothing is rewritten.
    stamp = (corpus / "tr" / "mix").stat().st_mtime_ns
    wsj0mix.create_wsj0mix(wav_root, lists, tmp_path / "mix", n_src, workers=1)
    assert (corpus / "tr" / "mix").stat().st_mtime_ns == stamp


def test_a_half_written_split_is_finished_not_trusted(fake_wsj0, tmp_path):
    wav_root = wsj0.convert_wsj0_tree(fake_wsj0 / "disks", tmp_path / "wav", workers=1)
    lists = wsj0mix.fetch_mixture_lists(tmp_path / "lists", 2, str(fake_wsj0 / "lists"))
    corpus = wsj0mix.create_wsj0mix(wav_root, lists, tmp_path / "mix", 2, workers=1)
    victim = sorted((corpus / "cv" / "mix").glob("*.wav"))[0]
    victim.unlink()
    (corpus / "cv" / "done.json").unlink()  # as if killed before the split was finished
    wsj0mix.create_wsj0mix(wav_root, lists, tmp_path / "mix", 2, workers=1)
    assert victim.is_file() and (corpus / "cv" / "done.json").is_file()


def test_missing_list_entries_and_lists_are_clear_errors(fake_wsj0, tmp_path):
    with pytest.raises(FileNotFoundError, match="mix_2_spk_tr.txt"):
        wsj0mix.fetch_mixture_lists(tmp_path / "lists", 2, str(tmp_path))
    with pytest.raises(FileNotFoundError, match="is not under.*--wsj0_root"):
        wsj0mix.resolve_list_path(tmp_path, "wsj0/si_tr_s/01t/01to030v.wav")
    bad = tmp_path / "bad.txt"
    bad.write_text("wsj0/si_tr_s/01t/a.wav 0.5 wsj0/si_tr_s/01t/b.wav\n")
    with pytest.raises(ValueError, match="bad.txt:1: expected 'path gain' pairs"):
        wsj0mix.read_mixture_list(bad)


def _recipe(recipe, cwd, *args):
    command = ["bash", str(ROOT / "egs" / recipe / "run.sh"), "--python", sys.executable, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=cwd)


@pytest.mark.parametrize("recipe,n_src", [("wsj0-2mix", 2), ("wsj0-3mix", 3)])
def test_wsj0_recipe_runs_end_to_end_from_the_disks(fake_wsj0, tmp_path, recipe, n_src):
    lists = fake_wsj0 / "create-speaker-mixtures.zip"
    result = _recipe(
        recipe, tmp_path, "--wsj0_root", str(fake_wsj0 / "disks"), "--mixture_lists", str(lists), "--workers", "2",
        "--model", "overseparation", "--n_outputs", str(2 * n_src), "--train_args", TOY_TRAIN_ARGS + " --max_epochs 1",
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    split = tmp_path / "data" / "wsj0-mix" / f"{n_src}speakers" / "wav8k" / "min" / "tt"
    assert len(list((split / "mix").glob("*.wav"))) == 4 and (split / f"s{n_src}").is_dir()
    exp = tmp_path / "exp" / f"overseparation_{n_src}src"
    for name in [
        "conf.yml", "command.txt", "corpus.json", "best_model.pth", "checkpoints/last.ckpt", "eval/all_metrics.csv",
        "eval/final_metrics.json", "report.md", "spectrograms.png", f"publish/overseparation_{n_src}src.pth",
        f"publish/overseparation_{n_src}src.md",
    ]:
        assert (exp / name).is_file(), name
    table = pd.read_csv(exp / "eval" / "all_metrics.csv")
    assert list(table.columns[:7]) == ["utterance", "si_sdr", "si_sdri", "sdr", "sdri", "input_si_sdr", "input_sdr"]
    assert len(table) == 4
    conf = torch.load(exp / "best_model.pth", weights_only=True)
    assert conf["model_args"]["n_src"] == n_src and conf["model_args"]["n_outputs"] == 2 * n_src
    # A re-run skips the finished data stages and says so through their markers.
    again = _recipe(recipe, tmp_path, "--wsj0_root", str(fake_wsj0 / "disks"), "--stop_stage", "2")
    assert again.returncode == 0 and "sphere to wav" not in again.stderr


def test_wsj0_recipe_needs_a_wsj0_root_or_a_corpus(tmp_path):
    result = _recipe("wsj0-2mix", tmp_path)
    assert result.returncode != 0 and "--wsj0_root is needed to make the corpus (or --wsj0mix_dir" in result.stderr
    result = _recipe("wsj0-2mix", tmp_path, "--wsj0_root", str(tmp_path / "nowhere"))
    assert result.returncode != 0 and "error: --wsj0_root" in result.stderr and "11-1.1/wsj0" in result.stderr
