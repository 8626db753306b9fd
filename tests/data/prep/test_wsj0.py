"""WSJ0 -> wsj0-2mix / wsj0-3mix on a fake WSJ0 holding exactly the utterances that verbatim excerpts
of MERL's lists name (tests/fixtures/wsj0-mix), its discs kept under a folder named wsj0 as many sites
keep them; and the wsj0 recipes end to end at toy size."""
import os
import shutil
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
from fakes import TOY_TRAIN_ARGS, WSJ0MIX_LISTS, write_sph2pipe_tarball, write_sphere, wsj0_list_paths

ROOT = Path(__file__).resolve().parents[3]


def test_sphere_files_convert_to_the_merged_wav_tree(fake_wsj0, tmp_path):
    out = wsj0.convert_wsj0_tree(fake_wsj0 / "wsj0", tmp_path / "wav", workers=1)
    wav = out / "wsj0" / "si_tr_s" / "40n" / "40na010x.wav"  # the first utterance of MERL's mix_2_spk_tr.txt
    data, rate = sf.read(wav, dtype="int16")
    wv1 = next((fake_wsj0 / "wsj0").glob("11-*.1/wsj0/si_tr_s/40n/40na010x.wv1"))
    assert rate == 16000 and np.array_equal(data, np.frombuffer(wv1.read_bytes()[1024:], "<i2"))
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.wav")) == wsj0_list_paths()
    assert (out / "done.json").is_file()
    # An already-converted tree is used as it is, and so is its wsj0/ folder.
    assert wsj0.convert_wsj0_tree(out, tmp_path / "unused") == out and not (tmp_path / "unused").exists()
    assert wsj0.convert_wsj0_tree(out / "wsj0", tmp_path / "unused") == out / "wsj0"
    assert wsj0mix.resolve_list_path(out / "wsj0", "wsj0/si_tr_s/40n/40na010x.wav") == wav


def test_discs_are_found_under_any_root_whatever_its_folders_are_called(fake_wsj0, tmp_path):
    """Sites keep the discs as .../wsj0/11-1.1/wsj0/si_tr_s/...: a root named wsj0 found nothing before
    (the first 'wsj0' of the absolute path was taken as the tree's top)."""
    listed = wsj0_list_paths()
    for root in (fake_wsj0 / "wsj0", fake_wsj0):  # the folder named wsj0, and its parent: the discs at another depth
        assert [str(relative) for _, relative in wsj0.wsj0_utterances(root)] == listed
    one_disc = [str(relative) for _, relative in wsj0.wsj0_utterances(fake_wsj0 / "wsj0" / "11-6.1")]
    assert one_disc == [p for p in listed if "/si_dt_05/" in p]
    # The same discs in a folder of another name, deeper, with upper-case names as some CD copies have.
    other = tmp_path / "corpora" / "LDC93S6A" / "CSR-I"
    src = next((fake_wsj0 / "wsj0").glob("11-*.1/wsj0/si_tr_s/40n/40na010x.wv1"))
    (other / "11-1.1" / "WSJ0" / "SI_TR_S" / "40N").mkdir(parents=True)
    (other / "11-1.1" / "WSJ0" / "SI_TR_S" / "40N" / "40NA010X.WV1").write_bytes(src.read_bytes())
    (other / "11-1.1" / "WSJ0" / "SI_TR_S" / "40N" / "40NA010X.WV2").write_bytes(src.read_bytes())  # the other microphone: not used
    assert [str(r) for _, r in wsj0.wsj0_utterances(tmp_path / "corpora")] == ["wsj0/si_tr_s/40n/40na010x.wav"]


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


SPHERE = Path(__file__).resolve().parents[2] / "fixtures" / "sphere"  # NIST's own SPHERE test files (SOURCE.md)


def test_real_sphere_files_are_read_and_shorten_is_recognised():
    data, rate = wsj0.read_sphere(SPHERE / "ex1_01.wav")  # the uncompressed twin: libsndfile reads it
    samples = np.round(data * 32768).astype(np.int64)
    assert rate == 16000 and len(samples) == 16000 and (samples.min(), samples.max()) == (-560, 655)
    assert int(samples.sum()) % 65536 == 21647  # the header's sample_checksum
    header = wsj0.sphere_header(SPHERE / "ex1_01st.wav")
    assert header["sample_coding"] == "pcm,embedded-shorten-v2.00" and header["microphone"] == "Sennheiser HMD414"
    with pytest.raises(RuntimeError, match="shorten-compressed: sph2pipe is needed"):
        wsj0.read_sphere(SPHERE / "ex1_01st.wav")


@pytest.mark.skipif(not (os.environ.get("ASTEROID_DEEPMASK_SPH2PIPE") or shutil.which("sph2pipe")),
                    reason="needs a real sph2pipe (on PATH or in ASTEROID_DEEPMASK_SPH2PIPE)")
def test_a_real_sph2pipe_decodes_the_shorten_file_to_its_uncompressed_twin():
    program = wsj0.find_sph2pipe(os.environ.get("ASTEROID_DEEPMASK_SPH2PIPE"))
    decoded, rate = wsj0.read_sphere(SPHERE / "ex1_01st.wav", program)
    np.testing.assert_array_equal(decoded, wsj0.read_sphere(SPHERE / "ex1_01.wav")[0])


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
    binary = wsj0.build_sph2pipe(tmp_path / "tools", urls=[f"file://{tmp_path}/missing.tar.gz", archive.as_uri()])
    assert subprocess.run([str(binary)], capture_output=True, text=True).stdout == "sph2pipe\n"


def test_sph2pipe_can_be_given_as_a_binary_or_a_source_archive(tmp_path):
    archive = write_sph2pipe_tarball(tmp_path, '#include <stdio.h>\nint main(void) { puts("local"); return 0; }\n',
                                     tmp_path / "sph2pipe_v2.5.tar.gz")
    built = wsj0.find_sph2pipe(archive, tmp_path / "tools")  # compiled from the archive, no download
    assert built == tmp_path / "tools" / "sph2pipe"
    assert subprocess.run([str(built)], capture_output=True, text=True).stdout == "local\n"
    assert wsj0.find_sph2pipe(built, tmp_path / "elsewhere") == built  # a binary: used as it is
    with pytest.raises(FileNotFoundError, match="--sph2pipe .*missing does not exist: expected a sph2pipe binary or its source archive"):
        wsj0.find_sph2pipe(tmp_path / "missing", tmp_path / "tools")
    text = tmp_path / "notes.txt"
    text.write_text("not a program")
    with pytest.raises(PermissionError, match="is not executable"):
        wsj0.find_sph2pipe(text, tmp_path / "tools")


@pytest.mark.parametrize("n_src", [2, 3])
def test_created_mixtures_are_the_sum_of_their_scaled_sources(fake_wsj0, tmp_path, n_src):
    wav_root = wsj0.convert_wsj0_tree(fake_wsj0 / "wsj0", tmp_path / "wav", workers=1)
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
    wav_root = wsj0.convert_wsj0_tree(fake_wsj0 / "wsj0", tmp_path / "wav", workers=1)
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
        recipe, tmp_path, "--wsj0_root", str(fake_wsj0 / "wsj0"), "--mixture_lists", str(lists), "--workers", "2",
        "--model", "overseparation", "--n_outputs", str(2 * n_src), "--train_args", TOY_TRAIN_ARGS + " --max_epochs 1",
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    split = tmp_path / "data" / "wsj0-mix" / f"{n_src}speakers" / "wav8k" / "min" / "tt"
    assert len(list((split / "mix").glob("*.wav"))) == 4 and (split / f"s{n_src}").is_dir()
    first = (WSJ0MIX_LISTS / f"mix_{n_src}_spk_tt.txt").read_text().splitlines()[0].split()  # MERL's naming
    assert (split / "mix" / wsj0mix.mixture_name(list(zip(first[0::2], first[1::2])))).is_file()
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
    again = _recipe(recipe, tmp_path, "--wsj0_root", str(fake_wsj0 / "wsj0"), "--stop_stage", "2")
    assert again.returncode == 0 and "sphere to wav" not in again.stderr


def test_wsj0_recipe_needs_a_wsj0_root_or_a_corpus(tmp_path):
    result = _recipe("wsj0-2mix", tmp_path)
    assert result.returncode != 0 and "--wsj0_root is needed to make the corpus (or --wsj0mix_dir" in result.stderr
    result = _recipe("wsj0-2mix", tmp_path, "--wsj0_root", str(tmp_path / "nowhere"))
    assert result.returncode != 0 and "error: --wsj0_root" in result.stderr and "11-1.1/wsj0" in result.stderr
