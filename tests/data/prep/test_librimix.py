"""LibriMix from LibriSpeech and WHAM! noise (asteroid_deepmask.data.prep.librimix), from verbatim excerpts
of the official metadata (tests/fixtures/LibriMix) with fake audio for exactly the files they name; and
the resumable, checksummed download it uses."""
import csv
import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from scipy.signal import resample_poly

from asteroid_deepmask.data.prep import external, librimix
from fakes import LIBRIMIX_CHECKOUT, libri_speakers


@pytest.fixture
def trees(librimix_trees):
    return librimix_trees


def _expected(libri, noise, row, n_src, rate, mode):
    """Each source and the noise as the official create_librimix_from_metadata.py makes them: float32
    reads, the noise cut to the longest source (or looped with a one-second Hann cross-fade), gains,
    resample_poly, then cut or padded."""
    sources = [sf.read(libri / row[f"source_{k}_path"], dtype="float32")[0] for k in range(1, n_src + 1)]
    longest = max(len(s) for s in sources)
    noise_signal = sf.read(noise / row["noise_path"], dtype="float32", stop=longest)[0][:, 0]
    window = np.hanning(16001)
    rising, falling = window[:8001], window[8000::-1]
    looped = noise_signal
    while len(looped) < longest:
        looped = np.concatenate((looped[:-8001], looped[-8001:] * falling + noise_signal[:8001] * rising, noise_signal[8001:]))
    gains = [float(row[f"source_{k}_gain"]) for k in range(1, n_src + 1)] + [float(row["noise_gain"])]
    signals = [resample_poly(x * g, rate, 16000) for x, g in zip(sources + [looped[:longest]], gains)]
    length = (min if mode == "min" else max)(len(s) for s in signals)
    return [np.pad(s[:length], (0, length - len(s[:length]))) for s in signals]


@pytest.mark.parametrize("n_src, rate, mode", [(2, 8000, "min"), (3, 16000, "max"), (2, 16000, "min")])
def test_mixtures_are_their_sources_with_the_listed_gains(trees, tmp_path, n_src, rate, mode):
    libri, noise, metadata = trees
    csvs = librimix.create_librimix(libri, metadata, tmp_path / "out", n_src, rate, mode, wham_dir=noise, workers=1)
    root = librimix.librimix_root(tmp_path / "out", n_src, rate, mode)
    assert set(csvs) == {"dev", "test", "train-100"}
    # The official generator's folder names: the metadata file's name less libri{n}mix_, -clean and .csv.
    assert sorted(p.name for p in root.iterdir()) == ["dev", "metadata", "test", "train-100"]
    with open(metadata / "metadata" / f"Libri{n_src}Mix" / f"libri{n_src}mix_dev-clean.csv") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        name = f"{row['mixture_ID']}.wav"
        read = lambda folder: sf.read(root / "dev" / folder / name, dtype="float64")  # noqa: E731
        *sources, noise_signal = _expected(libri, noise, row, n_src, rate, mode)
        written = [read(f"s{k}") for k in range(1, n_src + 1)]
        assert all(r == rate for _, r in written)
        for (got, _), want in zip(written, sources):
            np.testing.assert_allclose(got, want, atol=1.01 / 32768)  # 16-bit rounding
        clean = np.sum([w for w, _ in written], axis=0)
        np.testing.assert_array_equal(read("mix_clean")[0], clean)  # exactly the written sources' sum
        np.testing.assert_allclose(read("mix_both")[0], clean + read("noise")[0], atol=1e-12)
        np.testing.assert_allclose(read("mix_single")[0], written[0][0] + read("noise")[0], atol=1e-12)
        np.testing.assert_allclose(read("noise")[0], noise_signal, atol=1.01 / 32768)
        assert len(clean) == len(noise_signal)


def test_a_noise_shorter_than_the_sources_is_looped_with_a_cross_fade():
    noise = np.random.default_rng(0).standard_normal(20000)
    looped = librimix.extend_noise(noise, 50000)
    half = 8001  # half of the official one-second Hann window, in samples
    assert len(looped) == 50000
    np.testing.assert_array_equal(looped[: 20000 - half], noise[: 20000 - half])  # the noise, then
    np.testing.assert_array_equal(looped[20000 : 20000 + 20000 - 2 * half], noise[half : 20000 - half])  # its repeat
    fade = looped[20000 - half : 20000]  # where the repeat fades in: a mixture of the end and the start
    np.testing.assert_allclose(fade, noise[-half:] * np.hanning(16001)[half - 1 :: -1] + noise[:half] * np.hanning(16001)[:half])
    with pytest.raises(ValueError, match="too short to loop"):
        librimix.extend_noise(noise[:4000], 50000)


def test_the_official_metadata_names_are_read_and_info_files_ignored(trees, tmp_path):
    """The official folder holds libri2mix_dev-clean.csv (and *_info.csv beside it): earlier versions
    looked for libri2mix_dev.csv and stopped at stage 1."""
    libri, noise, checkout = trees
    for given in (checkout, checkout / "metadata", checkout / "metadata" / "Libri2Mix"):  # each way users point at it
        csvs = librimix.create_librimix(libri, given, tmp_path / given.name, 2, subsets=("dev",), workers=1)
        with open(csvs["dev"]) as handle:
            written = [row["mixture_ID"] for row in csv.DictReader(handle)]
        with open(checkout / "metadata" / "Libri2Mix" / "libri2mix_dev-clean.csv") as handle:
            assert written == [row["mixture_ID"] for row in csv.DictReader(handle)]
    info_only = tmp_path / "info_only"
    info_only.mkdir()
    (info_only / "libri2mix_dev-clean_info.csv").write_bytes((checkout / "metadata" / "Libri2Mix" / "libri2mix_dev-clean_info.csv").read_bytes())
    with pytest.raises(FileNotFoundError, match=r"found libri2mix_dev-clean_info.csv, expected libri2mix_dev-clean.csv"):
        librimix.create_librimix(libri, info_only, tmp_path / "out", 2, subsets=("dev",), workers=1)
    only_two = tmp_path / "metadata_without_libri3mix"
    shutil.copytree(checkout / "metadata" / "Libri2Mix", only_two / "Libri2Mix")
    with pytest.raises(FileNotFoundError, match=r"No Libri3Mix metadata in .*: expected the LibriMix checkout, its metadata/ or metadata/Libri3Mix/ .*; found Libri2Mix\."):
        librimix.create_librimix(libri, only_two, tmp_path / "out", 3, subsets=("dev",), workers=1)


def test_a_finished_subset_is_kept_and_a_half_written_one_finished(trees, tmp_path):
    libri, noise, metadata = trees
    librimix.create_librimix(libri, metadata, tmp_path / "out", 2, subsets=("dev",), wham_dir=noise, workers=1)
    folder = librimix.librimix_root(tmp_path / "out", 2, 8000, "min") / "dev"
    first = sorted((folder / "mix_both").iterdir())[0]
    first.unlink()
    librimix.create_librimix(libri, metadata, tmp_path / "out", 2, subsets=("dev",), wham_dir=noise, workers=1)
    assert not first.exists()  # kept as finished: done.json says so
    (folder / "done.json").unlink()
    librimix.create_librimix(libri, metadata, tmp_path / "out", 2, subsets=("dev",), wham_dir=noise, workers=1)
    assert first.exists()


def test_the_clean_task_alone_needs_no_noise(trees, tmp_path):
    libri, _, metadata = trees
    csvs = librimix.create_librimix(libri, metadata, tmp_path / "out", 2, subsets=("test",), workers=1)
    folder = librimix.librimix_root(tmp_path / "out", 2, 8000, "min") / "test"
    assert sorted(p.name for p in folder.iterdir()) == ["done.json", "mix_clean", "s1", "s2"]
    assert csvs["test"].name == "mixture_test_mix_clean.csv"


def test_a_wrong_librispeech_folder_says_what_was_expected(trees, tmp_path):
    libri, noise, metadata = trees
    with pytest.raises(FileNotFoundError, match=r"dev-clean has no dev-clean/: expected LibriSpeech/dev-clean/<speaker>/<chapter>"):
        librimix.create_librimix(libri / "dev-clean", metadata, tmp_path / "out", 2, workers=1)
    flat = tmp_path / "flat" / "dev-clean"
    flat.mkdir(parents=True)
    sf.write(flat / "84-121-0000.flac", np.zeros(1600), 16000)
    with pytest.raises(FileNotFoundError, match=r"has no <speaker>/<chapter>/\*\.flac: not LibriSpeech's layout"):
        librimix.check_librispeech(flat.parent, ["dev-clean"])
    with pytest.raises(FileNotFoundError, match="No LibriSpeech folder"):
        librimix.check_librispeech(tmp_path / "nowhere", ["dev-clean"])


def test_metadata_naming_a_missing_file_or_lacking_columns_is_refused(trees, tmp_path):
    libri, noise, metadata = trees
    bad = tmp_path / "meta"
    bad.mkdir()
    official = metadata / "metadata" / "Libri2Mix" / "libri2mix_dev-clean.csv"
    text = official.read_text().replace("dev-clean/3536/", "dev-clean/9999/", 1)
    (bad / "libri2mix_dev-clean.csv").write_text(text)
    with pytest.raises(FileNotFoundError, match=r"libri2mix_dev-clean.csv, mixture .*: .*9999.* does not exist \(the source_\d_path under --librispeech_dir\)"):
        librimix.create_librimix(libri, bad, tmp_path / "out", 2, subsets=("dev",), wham_dir=noise, workers=1)
    with pytest.raises(ValueError, match=r"not LibriMix metadata for 3 speakers: missing columns \['source_3_path', 'source_3_gain'\]"):
        librimix.read_metadata(official, 3, libri, noise)
    with pytest.raises(ValueError, match="LibriMix comes at"):
        librimix.create_librimix(libri, metadata, tmp_path / "out", 2, sample_rate=44100)


def test_fake_tree_has_librispeechs_layout_and_disjoint_speakers(trees):
    libri, _, _ = trees
    speakers = libri_speakers()
    assert librimix.check_librispeech(libri, list(speakers)) == libri
    assert list(libri.glob("dev-clean/3536/8226/3536-8226.trans.txt"))
    by_subset = {s: {p.name for p in (libri / s).iterdir()} for s in speakers}
    assert not (by_subset["train-clean-100"] & (by_subset["dev-clean"] | by_subset["test-clean"]))


def test_librispeech_download_from_a_file_url_checks_its_md5_and_unpacks(trees, tmp_path, monkeypatch):
    import tarfile

    libri, _, _ = trees
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    with tarfile.open(mirror / "dev-clean.tar.gz", "w:gz") as tar:
        tar.add(libri / "dev-clean", arcname="LibriSpeech/dev-clean")
    md5 = hashlib.md5((mirror / "dev-clean.tar.gz").read_bytes()).hexdigest()
    monkeypatch.setitem(librimix.LIBRISPEECH_MD5, "dev-clean", md5)
    root = librimix.fetch_librispeech(tmp_path / "work", ["dev-clean"], base_url=mirror.as_uri())
    assert sorted(p.name for p in (root / "dev-clean").iterdir() if p.is_dir()) == libri_speakers()["dev-clean"]
    assert librimix.fetch_librispeech(tmp_path / "work", ["dev-clean"], base_url="file:///nowhere") == root  # done: not fetched again


def test_an_interrupted_download_resumes_and_a_wrong_checksum_is_an_error(tmp_path):
    payload = np.random.default_rng(0).bytes(300_000)
    source = tmp_path / "archive.bin"
    source.write_bytes(payload)
    target = tmp_path / "got" / "archive.bin"
    target.parent.mkdir()
    partial = target.with_name(target.name + ".part")
    partial.write_bytes(payload[:123_456])  # what a killed download left
    md5 = hashlib.md5(payload).hexdigest()
    assert external.download([source.as_uri()], target, md5) == target
    assert target.read_bytes() == payload and not partial.exists()
    other = tmp_path / "other.bin"
    with pytest.raises(RuntimeError, match=r"Could not download other.bin: .*md5 is not the expected 0{32}"):
        external.download([source.as_uri()], other, "0" * 32)
    assert not other.exists() and not Path(str(other) + ".part").exists()
    with pytest.raises(RuntimeError, match="Could not download"):
        external.download([(tmp_path / "missing.bin").as_uri()], tmp_path / "missing.bin")


def test_the_recipes_dataset_reads_librimix_and_names_its_mixtures(trees, tmp_path):
    from asteroid_deepmask.data.datasets import check_json_dir, make_dataset

    libri, noise, metadata = trees
    csvs = librimix.create_librimix(libri, metadata, tmp_path / "out", 3, 16000, subsets=("dev",), wham_dir=noise, workers=1)
    check_json_dir(csvs["dev"].parent, "validation")
    dataset = make_dataset({"dataset": "librimix", "task": "sep_noisy", "sample_rate": 16000, "n_src": 3}, csvs["dev"].parent, None)
    mixture, sources = dataset[0]
    assert sources.shape == (3, mixture.shape[0]) and Path(dataset.mix[0][0]).parent.name == "mix_both"
    assert dataset.mix[0][1] == mixture.shape[0]


def test_the_official_metadata_is_taken_from_the_repositorys_zip(trees, tmp_path):
    import zipfile

    _, _, checkout = trees
    archive = tmp_path / "LibriMix-master.zip"
    with zipfile.ZipFile(archive, "w") as zf:  # as GitHub zips a checkout: one top folder
        for path in sorted(checkout.rglob("*")):
            zf.write(path, f"LibriMix-master/{path.relative_to(checkout).as_posix()}")
    folder = librimix.fetch_librimix_metadata(tmp_path / "work", 3, archive.as_uri())
    official = sorted(p.name for p in (checkout / "metadata" / "Libri3Mix").glob("*.csv") if "info" not in p.name)
    assert sorted(p.name for p in folder.iterdir()) == official == [
        "libri3mix_dev-clean.csv", "libri3mix_test-clean.csv", "libri3mix_train-clean-100.csv"]  # the *_info.csv left out
    assert librimix.fetch_librimix_metadata(tmp_path / "work", 3, "file:///nowhere.zip") == folder  # kept
    assert librimix.fetch_librimix_metadata(tmp_path / "work", 3, str(checkout)) == checkout / "metadata" / "Libri3Mix"  # a folder: found in it
    with pytest.raises(FileNotFoundError, match="has no metadata/Libri2Mix/\\*.csv: not the LibriMix repository"):
        with zipfile.ZipFile(tmp_path / "other.zip", "w") as zf:
            zf.writestr("other/README.md", "not LibriMix")
        librimix.fetch_librimix_metadata(tmp_path / "work2", 2, (tmp_path / "other.zip").as_uri())
