"""Training on speaker folders, mixed on the fly (asteroid_deepmask.data.speakers)."""
import numpy as np
import pytest
import soundfile as sf
import torch
from torch.utils.data import DataLoader

from asteroid_deepmask.data import speakers as speakers_module
from asteroid_deepmask.data.datasets import make_training_dataset
from asteroid_deepmask.data.mixing import ACTIVE_LEVEL_DB, active_level
from asteroid_deepmask.data.speakers import DynamicMixDataset, EpochSampler, SpeakerBank, write_speaker_mixtures

RATE = 8000


def _voice(seconds, rate, f0, seed):
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(seed)
    wav = sum(np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6)) / k for k in range(1, 6))
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t) ** 2
    return (0.2 * wav * envelope).astype(np.float32)


def make_speakers(root, n=5, clip_seconds=(0.6, 1.4), clips=3):
    rates = (8000, 16000, 22050, 44100)
    for s in range(n):
        folder = root / f"spk{s}"
        folder.mkdir(parents=True)
        for c in range(clips):
            rate = rates[(s + c) % len(rates)]
            wav = _voice(clip_seconds[c % 2], rate, 100 + 30 * s, seed=10 * s + c)
            if c == 1:  # stereo with an empty channel: the live one must be taken
                sf.write(folder / f"c{c}.flac", np.stack([np.zeros_like(wav), wav], axis=1), rate)
            else:
                sf.write(folder / f"c{c}.wav", wav, rate)
    return root


@pytest.fixture
def bank(tmp_path):
    return SpeakerBank(make_speakers(tmp_path / "spk"), RATE, min_seconds=2.0, cache_dir=tmp_path / "cache")


def test_mixture_is_the_sum_of_its_sources_with_levels_in_range(bank):
    dataset = DynamicMixDataset(bank, 2, 2.0, 50, seed=0)
    relative = []
    for index in range(50):
        mixture, targets, names, gains = dataset.draw(0, index)
        assert mixture.shape == (2 * RATE,) and targets.shape == (2, 2 * RATE)
        np.testing.assert_allclose(mixture, targets.sum(0), atol=1e-6)
        assert len(set(names)) == 2
        for target, gain in zip(targets, gains):  # no clipping rescale at -25 dBFS
            assert 20 * np.log10(active_level(target, RATE)) == pytest.approx(ACTIVE_LEVEL_DB + gain, abs=0.05)
        relative.append(gains[0] - gains[1])
    assert -5 <= min(relative) < -3 and 3 < max(relative) <= 5


def test_clipping_mixtures_are_rescaled(bank, monkeypatch):
    monkeypatch.setattr(speakers_module, "ACTIVE_LEVEL_DB", 0.0)
    mixture, targets, _, _ = DynamicMixDataset(bank, 2, 2.0, 4, seed=0).draw(0, 0)
    peak = max(np.abs(mixture).max(), np.abs(targets).max())
    assert peak == pytest.approx(0.9, abs=1e-4)
    np.testing.assert_allclose(mixture, targets.sum(0), atol=1e-6)


def test_short_clips_are_joined_with_pauses(bank):
    rng = np.random.default_rng(0)
    segment = bank.draw_segment(bank.speakers[0], 3 * RATE, rng)  # every clip is shorter than 3 s
    assert len(segment) == 3 * RATE
    silent = np.convolve(segment == 0, np.ones(400), "valid") == 400  # 50 ms of zeros: a pause
    assert silent.any()


def test_epochs_differ_indices_are_reproducible_and_workers_do_not_matter(bank):
    dataset = DynamicMixDataset(bank, 2, 1.0, 6, seed=3)
    sampler = EpochSampler(len(dataset))
    epoch0 = [dataset[k][0] for k in sampler]
    sampler.set_epoch(1)
    epoch1 = [dataset[k][0] for k in sampler]
    assert all(not torch.equal(a, b) for a, b in zip(epoch0, epoch1))
    again = DynamicMixDataset(bank, 2, 1.0, 6, seed=3)
    assert torch.equal(again[7][0], epoch1[1])
    assert not torch.equal(DynamicMixDataset(bank, 2, 1.0, 6, seed=4)[0][0], epoch0[0])
    loader = DataLoader(dataset, batch_size=1, sampler=sampler, num_workers=2)
    from_workers = [batch[0][0] for batch in loader]
    assert all(torch.equal(a, b) for a, b in zip(from_workers, epoch1))
    assert len({tuple(x[:50].tolist()) for x in from_workers}) == len(from_workers)


def test_lightning_sets_the_epoch_of_our_sampler(bank):
    from lightning_fabric.utilities.data import _set_sampler_epoch  # what the fit loop calls each epoch

    dataset = DynamicMixDataset(bank, 2, 1.0, 4, seed=0)
    loader = DataLoader(dataset, batch_size=2, sampler=EpochSampler(len(dataset)))
    _set_sampler_epoch(loader, 5)
    assert loader.sampler.epoch == 5 and list(loader.sampler)[0] == 20


def test_validation_sets_are_fixed_by_the_seed_and_sum_exactly(tmp_path):
    root = make_speakers(tmp_path / "spk")
    made = [write_speaker_mixtures(root, tmp_path / name, 2, 4, seed=seed, cache_dir=tmp_path / "cache")
            for name, seed in (("a", 0), ("b", 0), ("c", 1))]
    names = sorted(p.name for p in (made[0] / "mix").iterdir())
    assert names == sorted(p.name for p in (made[1] / "mix").iterdir())
    for name in names:
        assert (made[0] / "mix" / name).read_bytes() == (made[1] / "mix" / name).read_bytes()
        mix = sf.read(made[0] / "mix" / name, dtype="int16")[0].astype(int)
        assert np.array_equal(mix, sum(sf.read(made[0] / f"s{k}" / name, dtype="int16")[0].astype(int) for k in (1, 2)))
    assert (made[0] / "mixtures.csv").read_text() == (made[1] / "mixtures.csv").read_text()
    assert (made[0] / "mixtures.csv").read_text() != (made[2] / "mixtures.csv").read_text()


def test_speakers_are_cached_memory_mapped_and_refreshed_when_files_change(tmp_path, monkeypatch):
    root = make_speakers(tmp_path / "spk")
    first = SpeakerBank(root, RATE, cache_dir=tmp_path / "cache")
    assert isinstance(first.speakers[0].audio, np.memmap)

    def fail(*args, **kwargs):
        raise AssertionError("decoded again")

    monkeypatch.setattr(speakers_module, "read_mono", fail)
    second = SpeakerBank(root, RATE, cache_dir=tmp_path / "cache")
    assert np.array_equal(second.speakers[0].audio, first.speakers[0].audio)
    sf.write(root / "spk0" / "c0.wav", _voice(0.5, RATE, 150, 99), RATE)
    with pytest.raises(AssertionError, match="decoded again"):
        SpeakerBank(root, RATE, cache_dir=tmp_path / "cache")


def test_bad_speaker_folders_get_messages_that_name_them(tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(FileNotFoundError, match="missing.*does not exist"):
        SpeakerBank(tmp_path / "missing", RATE, cache_dir=cache)
    one = make_speakers(tmp_path / "one", n=1)
    with pytest.raises(ValueError, match=r"one has 1 speaker folder.*fewer than the 2"):
        SpeakerBank(one, RATE, cache_dir=cache)
    empty = make_speakers(tmp_path / "empty", n=2)
    (empty / "nobody").mkdir()
    with pytest.raises(ValueError, match=r"nobody has no audio files"):
        SpeakerBank(empty, RATE, cache_dir=cache)
    corrupt = make_speakers(tmp_path / "corrupt", n=2)
    (corrupt / "broken").mkdir()
    (corrupt / "broken" / "x.wav").write_bytes(b"not a wav at all" * 10)
    with pytest.raises(ValueError, match=r"broken has no readable audio"):
        SpeakerBank(corrupt, RATE, cache_dir=cache)
    with pytest.raises(ValueError, match=r"less audio than one 30 s segment: spk0"):
        SpeakerBank(make_speakers(tmp_path / "short", n=2), RATE, min_seconds=30, cache_dir=cache)
    skipped = make_speakers(tmp_path / "skipped", n=2)
    (skipped / "spk0" / "bad.wav").write_bytes(b"garbage" * 20)
    bank = SpeakerBank(skipped, RATE, cache_dir=cache)
    assert list(bank.skipped) == [str(skipped / "spk0" / "bad.wav")]


def _conf(train_speakers, **augment):
    return {"data": {"dataset": "speakers", "train_speakers": train_speakers, "examples_per_epoch": 4, "n_src": 2,
                     "sample_rate": RATE, "segment": 1.0, "cache_dir": None},
            "training": {"seed": 0}, "augment": augment}


def test_the_conf_switch_selects_dynamic_mixing_with_its_augmentation(tmp_path, monkeypatch):
    monkeypatch.setenv("ASTEROID_DEEPMASK_CACHE", str(tmp_path / "cache"))
    root = str(make_speakers(tmp_path / "spk"))
    dataset, sampler = make_training_dataset(_conf(root))
    assert isinstance(dataset, DynamicMixDataset) and isinstance(sampler, EpochSampler) and len(dataset) == 4
    louder, _ = make_training_dataset(_conf(root, gain_min_db=6.0, gain_max_db=6.0))
    (mix, targets), (mix6, targets6) = dataset[0], louder[0]
    torch.testing.assert_close(mix6, mix * 10 ** (6 / 20), rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="train_speakers is not set"):
        make_training_dataset(_conf(None))
