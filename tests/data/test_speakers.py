"""Dynamic mixing from speaker folders (asteroid_deepmask.data.speakers, .dynamic_mix): mixtures, levels,
speakers, joined clips, reproducibility, epochs and workers, Lightning's set_epoch, the cache,
bad input, the recipe's training set and memory mapping.

Toy speakers: a few clips of harmonic sound with a syllable envelope each, one pitch per speaker,
at 8 to 44.1 kHz, as wav, flac and ogg, some stereo with one empty channel. Nothing is written to
the home cache: ASTEROID_DEEPMASK_CACHE points into tmp_path in every test.
"""
import math
import os
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from torch.utils.data import DataLoader, Dataset, get_worker_info

from asteroid_deepmask.data import dynamic_mix
from asteroid_deepmask.data import speakers as speakers_module
from asteroid_deepmask.data.datasets import make_training_dataset
from asteroid_deepmask.data.dynamic_mix import DynamicMixDataset, EpochSampler
from asteroid_deepmask.data.io import read_mono
from asteroid_deepmask.data.levels import active_level
from asteroid_deepmask.data.mixing import ACTIVE_LEVEL_DB, PEAK_AFTER_RESCALE
from asteroid_deepmask.data.speakers import SpeakerBank
from fakes import F0, RATES, voiced, write_clip, write_speakers

RATE = 8000
SEGMENT = 0.5
MIN_PAUSE = int(0.1 * RATE)  # joined clips are 0.1-0.5 s apart


@pytest.fixture
def root(speakers_root):
    return speakers_root


@pytest.fixture
def bank(root):
    return SpeakerBank(root, RATE, min_seconds=SEGMENT, min_speakers=3)


def _longest_inner_zero_run(x: np.ndarray) -> int:
    """Longest run of exact zeros that neither starts nor ends the signal."""
    nonzero = np.flatnonzero(x != 0)
    if len(nonzero) < 2:
        return 0
    gaps = np.diff(nonzero) - 1
    return int(gaps.max())


def test_toy_folder_has_every_rate_format_and_an_empty_channel(root):
    files = sorted(p for p in root.rglob("*") if p.is_file())
    infos = [sf.info(str(p)) for p in files]
    assert {i.samplerate for i in infos} == set(RATES)
    assert {p.suffix for p in files} == {".wav", ".flac", ".ogg"}
    stereo = [p for p, i in zip(files, infos) if i.channels == 2]
    assert stereo
    # read_mono keeps the live channel, whichever it is: not halved by averaging with the empty one.
    for path in stereo:
        two, rate = sf.read(str(path), dtype="float32")
        live = np.abs(two).max(axis=0).argmax()
        assert np.abs(two[:, 1 - live]).max() == 0
        np.testing.assert_allclose(read_mono(path, rate), two[:, live])


# 1. -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("n_src", [2, 3])
def test_dynamic_mixture_is_the_sum_of_its_sources(bank, n_src):
    dataset = DynamicMixDataset(bank, n_src, SEGMENT, 4, seed=1)
    assert len(dataset) == 4
    for item in range(6):  # epoch 1 too (item 4, 5)
        mixture, targets = dataset[item]
        assert mixture.shape == (int(SEGMENT * RATE),) and targets.shape == (n_src, int(SEGMENT * RATE))
        assert mixture.dtype == targets.dtype == torch.float32
        assert all(t.abs().max() > 1e-3 for t in targets)
        torch.testing.assert_close(targets.sum(0), mixture, rtol=0, atol=1e-6)


# 2. -----------------------------------------------------------------------------------------
def test_each_source_is_at_its_active_level_and_the_relative_level_spans_5_db(bank):
    dataset = DynamicMixDataset(bank, 2, SEGMENT, 120, seed=0)
    relative = []
    for index in range(len(dataset)):
        mixture, targets, _, gains = dataset.draw(0, index)
        assert max(np.abs(mixture).max(), np.abs(targets).max()) < 1.0  # no rescale at these levels
        levels = [active_level(t, RATE, method="frames") for t in targets]
        np.testing.assert_allclose(levels, [10 ** ((ACTIVE_LEVEL_DB + g) / 20) for g in gains], rtol=1e-4)
        relative.append(20 * math.log10(levels[1] / levels[0]))
        assert relative[-1] == pytest.approx(gains[1] - gains[0], abs=1e-3)
    assert -5.0 - 1e-3 <= min(relative) and max(relative) <= 5.0 + 1e-3
    assert min(relative) < -4.0 and max(relative) > 4.0  # spans the range, not a narrow part of it


def test_relative_level_of_three_sources_is_to_the_first(bank):
    dataset = DynamicMixDataset(bank, 3, SEGMENT, 30, seed=0, max_relative_db=2.0)
    for index in range(len(dataset)):
        _, targets, _, gains = dataset.draw(0, index)
        levels_db = [20 * math.log10(active_level(t, RATE, method="frames")) for t in targets]
        assert sum(gains) == pytest.approx(0.0, abs=1e-9)
        for k in (1, 2):
            assert abs(levels_db[k] - levels_db[0]) <= 2.0 + 1e-3


def test_a_mixture_that_would_clip_is_rescaled_to_a_0_9_peak(bank, monkeypatch):
    monkeypatch.setattr(dynamic_mix, "ACTIVE_LEVEL_DB", 0.0)  # sources at 0 dBFS active level: peaks above 1
    dataset = DynamicMixDataset(bank, 2, SEGMENT, 5, seed=0)
    for index in range(len(dataset)):
        mixture, targets, _, gains = dataset.draw(0, index)
        peak = max(np.abs(mixture).max(), np.abs(targets).max())
        assert peak == pytest.approx(PEAK_AFTER_RESCALE, rel=1e-5)
        np.testing.assert_allclose(targets.sum(0), mixture, rtol=0, atol=1e-6)
        # One scale for all: the sources keep their relative level.
        scales = [active_level(t, RATE, method="frames") / 10 ** (g / 20) for t, g in zip(targets, gains)]
        assert scales[0] < 1.0 and scales[1] == pytest.approx(scales[0], rel=1e-4)


# 3. -----------------------------------------------------------------------------------------
def test_every_example_has_n_src_distinct_speakers_and_their_voices(bank):
    names = [s.name for s in bank.speakers]
    pitch = {f"spk{k}": f0 for k, f0 in enumerate(F0)}
    dataset = DynamicMixDataset(bank, 3, SEGMENT, 40, seed=2)
    used = set()
    freqs = np.fft.rfftfreq(int(SEGMENT * RATE), 1 / RATE)
    band = (freqs > 60) & (freqs < 400)
    for index in range(len(dataset)):
        _, targets, chosen, _ = dataset.draw(0, index)
        assert len(chosen) == 3 and len(set(chosen)) == 3 and set(chosen) <= set(names)
        used |= set(chosen)
        for target, name in zip(targets, chosen):  # each target is the named speaker's voice
            spectrum = np.abs(np.fft.rfft(target))
            f0 = freqs[band][spectrum[band].argmax()]
            assert f0 == pytest.approx(pitch[name], rel=0.05), (name, f0)
    assert used == set(names)


# 4. -----------------------------------------------------------------------------------------
def test_short_clips_are_joined_with_pauses_into_a_full_segment(tmp_path):
    root = write_speakers(tmp_path / "spk", n_speakers=2, clips=2, seconds=(1.6, 2.0))
    rng = np.random.default_rng(5)
    for c in range(5):  # 5 clips of 0.3-0.4 s: 1.75 s in all, each shorter than a 1.5 s segment
        write_clip(root / "short" / f"c{c}.wav", voiced(rng, rng.uniform(0.3, 0.4), 16000, 330.0), 16000, 0)
    bank = SpeakerBank(root, RATE, min_seconds=1.5, min_speakers=2)
    short = next(s for s in bank.speakers if s.name == "short")
    assert np.diff(short.offsets).max() < 1.5 * RATE
    n = int(1.5 * RATE)
    for seed in range(5):
        segment = bank.draw_segment(short, n, np.random.default_rng(seed))
        assert segment.shape == (n,)
        assert _longest_inner_zero_run(segment) >= MIN_PAUSE
        assert np.count_nonzero(segment) > 0.3 * n
    dataset = DynamicMixDataset(bank, 2, 1.5, 20, seed=0)
    drawn = 0
    for index in range(len(dataset)):
        _, targets, chosen, _ = dataset.draw(0, index)
        if "short" in chosen:
            target = targets[chosen.index("short")]
            assert target.shape == (n,) and _longest_inner_zero_run(target) >= MIN_PAUSE
            drawn += 1
    assert drawn >= 5


def _reference_segment(audio, offsets, n, rng, rate):
    """draw_segment as first written (whole clips converted and joined, then cropped): the numbers
    that fixed validation and test sets were written with."""
    clip = lambda k: audio[offsets[k] : offsets[k + 1]].astype(np.float32) / 32768.0
    pieces = [clip(int(rng.integers(len(offsets) - 1)))]
    total = len(pieces[0])
    while total < n:
        pause = np.zeros(int(rng.uniform(0.1, 0.5) * rate), dtype=np.float32)
        pieces += [pause, clip(int(rng.integers(len(offsets) - 1)))]
        total += len(pause) + len(pieces[-1])
    joined = np.concatenate(pieces)
    start = int(rng.integers(len(joined) - n + 1))
    return joined[start : start + n]


class _CountedReads:
    """A speaker's audio that records how many samples each read takes."""

    def __init__(self, audio):
        self.audio, self.sizes = audio, []

    def __getitem__(self, key):
        out = self.audio[key]
        self.sizes.append(out.size)
        return out


def test_a_segment_reads_only_its_samples_and_keeps_the_original_numbers():
    bank = SpeakerBank.__new__(SpeakerBank)  # draw_segment needs only the rate
    bank.sample_rate = RATE
    rng = np.random.default_rng(0)
    for case in range(60):
        lengths = rng.integers(1, 3 * RATE, size=int(rng.integers(1, 6)))
        audio = rng.integers(-32768, 32768, size=int(lengths.sum()), dtype=np.int16)
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        n, seed = int(rng.integers(1, 4 * RATE)), int(rng.integers(2**31))
        mine, reference = np.random.default_rng(seed), np.random.default_rng(seed)
        got = bank.draw_segment(speakers_module.Speaker("x", audio, offsets), n, mine)
        assert got.dtype == np.float32 and got.shape == (n,)
        np.testing.assert_array_equal(got, _reference_segment(audio, offsets, n, reference, RATE))
        assert mine.random() == reference.random()  # the same draws consumed
    # An hour-long recording: a 1 s segment reads 1 s, not the hour.
    audio = _CountedReads(np.ones(3600 * RATE, dtype=np.int16))
    speaker = speakers_module.Speaker("long", audio, np.array([0, 3600 * RATE - 2400, 3600 * RATE]))
    for seed in range(10):
        assert bank.draw_segment(speaker, RATE, np.random.default_rng(seed)).shape == (RATE,)
    assert audio.sizes and max(audio.sizes) <= RATE


# 5. (the fixed mixtures): tests/data/prep/test_speaker_mixtures.py


# 6. -----------------------------------------------------------------------------------------
class _WorkerTagged(Dataset):
    """The dataset's items with the id of the worker process that drew them."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, item):
        mixture, targets = self.dataset[item]
        info = get_worker_info()
        return mixture, targets, torch.tensor(-1 if info is None else info.id), torch.tensor(item)


def test_epochs_differ_and_items_are_the_same_in_any_instance_or_worker(root, bank):
    n = 6
    dataset = DynamicMixDataset(bank, 2, SEGMENT, n, seed=0)
    sampler = EpochSampler(n)
    epoch0 = [dataset[i][0] for i in sampler]
    sampler.set_epoch(1)
    assert list(sampler) == list(range(n, 2 * n))
    epoch1 = [dataset[i][0] for i in sampler]
    assert all(not torch.equal(a, b) for a, b in zip(epoch0, epoch1))
    assert all(not torch.equal(a, b) for k, a in enumerate(epoch0) for b in epoch0[k + 1 :])

    again = DynamicMixDataset(SpeakerBank(root, RATE, min_seconds=SEGMENT, min_speakers=3), 2, SEGMENT, n, seed=0)
    for item in (0, 7):
        torch.testing.assert_close(again[item], dataset[item], rtol=0, atol=0)
    assert not torch.equal(DynamicMixDataset(bank, 2, SEGMENT, n, seed=1)[0][0], epoch0[0])

    # As the recipe's loader: persistent workers, the epoch set on the sampler in the main process.
    loader = DataLoader(_WorkerTagged(dataset), batch_size=1, sampler=EpochSampler(n), num_workers=2, persistent_workers=True)
    for epoch, expected in ((0, epoch0), (1, epoch1)):
        loader.sampler.set_epoch(epoch)
        batches = list(loader)
        assert [int(b[3]) for b in batches] == list(range(epoch * n, (epoch + 1) * n))
        assert {int(b[2]) for b in batches} == {0, 1}  # both workers drew
        mixtures = [b[0][0] for b in batches]
        assert all(not torch.equal(a, b) for k, a in enumerate(mixtures) for b in mixtures[k + 1 :])
        for got, want in zip(mixtures, expected):
            torch.testing.assert_close(got, want, rtol=0, atol=0)


# 7. -----------------------------------------------------------------------------------------
class _Indices(Dataset):
    def __len__(self):
        return 10**6

    def __getitem__(self, item):
        return torch.tensor(float(item))


def test_lightning_sets_the_epoch_on_our_sampler():
    import pytorch_lightning.loops.fit_loop as fit_loop
    from lightning_fabric.utilities.data import _set_sampler_epoch
    from lightning_fabric.utilities.distributed import DistributedSamplerWrapper

    assert fit_loop._set_sampler_epoch is _set_sampler_epoch  # what the fit loop calls before each epoch
    loader = DataLoader(_Indices(), batch_size=2, sampler=EpochSampler(4), drop_last=True)
    _set_sampler_epoch(loader, 3)
    assert loader.sampler.epoch == 3
    assert torch.cat(list(loader)).tolist() == [12.0, 13.0, 14.0, 15.0]
    # Under DDP Lightning wraps the sampler; the wrapper forwards set_epoch, the ranks share the epoch's indices.
    for shuffle in (False, True):
        ranks = [DistributedSamplerWrapper(EpochSampler(8), num_replicas=2, rank=r, shuffle=shuffle) for r in (0, 1)]
        for wrapper in ranks:
            wrapper.set_epoch(2)
        assert sorted(i for wrapper in ranks for i in wrapper) == list(range(16, 24))


def test_a_lightning_fit_draws_a_new_epoch_of_indices_each_epoch(tmp_path):
    import pytorch_lightning as pl

    class OneParameter(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.zeros(()))
            self.seen = {}

        def training_step(self, batch, batch_idx):
            self.seen.setdefault(self.current_epoch, []).extend(batch.tolist())
            return (self.weight * batch).sum() + self.weight**2

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.0)

        def train_dataloader(self):
            return DataLoader(_Indices(), batch_size=2, sampler=EpochSampler(4), drop_last=True)

    module = OneParameter()
    trainer = pl.Trainer(max_epochs=2, limit_train_batches=2, accelerator="cpu", devices=1, logger=False,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         default_root_dir=tmp_path)
    trainer.fit(module)
    assert module.seen == {0: [0.0, 1.0, 2.0, 3.0], 1: [4.0, 5.0, 6.0, 7.0]}


# 8. -----------------------------------------------------------------------------------------
def test_a_second_bank_loads_from_the_cache_and_a_changed_file_is_decoded_again(tmp_path, monkeypatch, speaker_cache):
    root = write_speakers(tmp_path / "spk", n_speakers=3, clips=2)
    first = SpeakerBank(root, RATE)
    assert first.cache_dir.parent == speaker_cache / "speakers"  # the env var's folder, not ~/.cache
    assert sorted(p.name for p in first.cache_dir.iterdir()) == [f"spk{k}.{e}" for k in range(3) for e in ("json", "npy")]

    real_read_mono = speakers_module.read_mono
    monkeypatch.setattr(speakers_module, "read_mono", lambda *a, **k: pytest.fail("decoded instead of read from the cache"))
    second = SpeakerBank(root, RATE)
    for a, b in zip(first.speakers, second.speakers):
        assert a.name == b.name
        np.testing.assert_array_equal(a.audio, b.audio)
        np.testing.assert_array_equal(a.offsets, b.offsets)

    decoded = []
    monkeypatch.setattr(speakers_module, "read_mono", lambda path, rate: decoded.append(Path(path).name) or real_read_mono(path, rate))
    touched = next((root / "spk1").iterdir())
    stat = touched.stat()
    os.utime(touched, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    third = SpeakerBank(root, RATE)
    assert sorted(decoded) == sorted(p.name for p in (root / "spk1").iterdir())  # that speaker only
    np.testing.assert_array_equal(third.speakers[1].audio, first.speakers[1].audio)

    decoded.clear()
    replaced = next((root / "spk2").iterdir())
    write_clip(replaced.with_suffix(".wav"), voiced(np.random.default_rng(9), 0.7, 16000, 250.0), 16000, 0)
    if replaced.suffix != ".wav":
        replaced.unlink()
    fourth = SpeakerBank(root, RATE)
    assert decoded and set(decoded) <= {p.name for p in (root / "spk2").iterdir()}
    assert fourth.speakers[2].n_samples != first.speakers[2].n_samples
    assert 0.7 * RATE in np.diff(fourth.speakers[2].offsets)


# 9. -----------------------------------------------------------------------------------------
def _named(path) -> str:
    return re.escape(str(path))


def test_a_missing_root_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=_named(tmp_path / "nowhere")):
        SpeakerBank(tmp_path / "nowhere", RATE)


def test_fewer_speakers_than_the_mixture_needs_is_named(tmp_path):
    root = write_speakers(tmp_path / "spk", n_speakers=2, clips=1)
    with pytest.raises(ValueError, match=_named(root) + r" has 2 speaker folder\(s\), fewer than the 3"):
        SpeakerBank(root, RATE, min_speakers=3)
    (root / ".hidden").mkdir()  # hidden folders are not speakers
    with pytest.raises(ValueError, match="has 2 speaker folder"):
        SpeakerBank(root, RATE, min_speakers=3)


def test_an_empty_speaker_folder_is_named(tmp_path):
    root = write_speakers(tmp_path / "spk", n_speakers=2, clips=1)
    (root / "empty").mkdir()
    (root / "empty" / "notes.txt").write_text("no audio here")
    with pytest.raises(ValueError, match=_named(root / "empty") + " has no audio files"):
        SpeakerBank(root, RATE)


def test_a_speaker_whose_only_file_is_corrupt_is_named(tmp_path):
    root = write_speakers(tmp_path / "spk", n_speakers=2, clips=1)
    (root / "broken").mkdir()
    (root / "broken" / "clip.wav").write_bytes(b"this is not a wav file " * 40)
    with pytest.raises(ValueError, match=_named(root / "broken") + " has no readable audio"):
        SpeakerBank(root, RATE)


def test_a_speaker_with_less_than_one_segment_is_named(tmp_path):
    root = write_speakers(tmp_path / "spk", n_speakers=2, clips=2, seconds=(1.0, 1.2))
    write_clip(root / "brief" / "clip.wav", voiced(np.random.default_rng(1), 0.5, 16000, 200.0), 16000, 0)
    with pytest.raises(ValueError, match=_named(root) + r".*brief \(0\.50 s\)"):
        SpeakerBank(root, RATE, min_seconds=1.5)
    assert len(SpeakerBank(root, RATE, min_seconds=0.5)) == 3


def test_a_corrupt_file_among_good_ones_is_skipped_and_counted(tmp_path):
    root = write_speakers(tmp_path / "spk", n_speakers=2, clips=2)
    bad = root / "spk0" / "zz_bad.wav"
    bad.write_bytes(b"\x00garbage" * 100)
    good = SpeakerBank(root, RATE)
    assert list(good.skipped) == [str(bad)] and good.skipped[str(bad)]
    assert len(good.speakers[0].offsets) == 3  # its two good clips
    assert SpeakerBank(root, RATE).skipped == good.skipped  # the cache remembers what was skipped


# 10. ----------------------------------------------------------------------------------------
def _conf(train_speakers, augment=None, cache_dir=None):
    return {
        "data": {"dataset": "speakers", "train_speakers": train_speakers, "examples_per_epoch": 5, "cache_dir": cache_dir,
                 "n_src": 2, "sample_rate": RATE, "segment": SEGMENT, "train_dir": None},
        "augment": augment,
        "training": {"seed": 0},
    }


def test_make_training_dataset_builds_dynamic_mixing_from_the_conf(root, tmp_path):
    plain, plain_sampler = make_training_dataset(_conf(str(root), cache_dir=str(tmp_path / "own_cache")))
    assert isinstance(plain, DynamicMixDataset) and isinstance(plain_sampler, EpochSampler)
    assert len(plain) == len(plain_sampler) == 5 and plain.n_src == 2 and plain.n_samples == int(SEGMENT * RATE)
    assert plain.bank.cache_dir == tmp_path / "own_cache" and not plain.augment.enabled
    augment = {"speed_min": 1.0, "speed_max": 1.0, "gain_min_db": -6.0, "gain_max_db": -6.0}
    quieter, _ = make_training_dataset(_conf(str(root), augment))
    assert quieter.augment.conf["gain_min_db"] == -6.0 and quieter.augment.gain_on
    for item in (0, 6):
        (mix0, tgt0), (mix1, tgt1) = plain[item], quieter[item]
        torch.testing.assert_close(mix1, mix0 * 10 ** (-6 / 20), rtol=1e-5, atol=1e-7)
        torch.testing.assert_close(tgt1, tgt0 * 10 ** (-6 / 20), rtol=1e-5, atol=1e-7)


def test_make_training_dataset_needs_train_speakers_and_valid_augment_keys(root):
    with pytest.raises(ValueError, match="data.train_speakers is not set"):
        make_training_dataset(_conf(None))
    with pytest.raises(ValueError, match="Unknown augment key"):
        make_training_dataset(_conf(str(root), {"sped_min": 0.9}))


# 11. ----------------------------------------------------------------------------------------
def test_speakers_are_memory_mapped_fresh_and_cached(root, bank):
    for loaded in (bank, SpeakerBank(root, RATE, min_seconds=SEGMENT, min_speakers=3)):
        for speaker in loaded.speakers:
            assert isinstance(speaker.audio, np.memmap) and speaker.audio.dtype == np.int16
            assert Path(speaker.audio.filename).parent == loaded.cache_dir
    dataset = DynamicMixDataset(bank, 2, SEGMENT, 4)
    dataset[0]
    assert isinstance(bank.speakers[0].audio, np.memmap)  # drawing copies segments, never the whole speaker


