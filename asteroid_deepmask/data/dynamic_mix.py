"""Training on any folder of single-speaker recordings, mixed on the fly (dynamic mixing).

The speakers are a :class:`~.speakers.SpeakerBank` (decoded once, cached, memory-mapped).
A training example draws C distinct speakers (uniformly, so a speaker with one minute counts
as much as one with an hour: more voices, not more of the same voice), takes a random segment
of each (a speaker's short clips joined with short pauses until they reach the segment), and
mixes them as wsj0-mix does (:mod:`.mixing`). Example ``k`` of epoch ``e`` is drawn from
``numpy.random.default_rng([seed, e, k])``: reproducible, new every epoch, and the same
whichever worker process draws it. :class:`EpochSampler` tells the dataset the epoch (Lightning
calls its ``set_epoch``, under DDP too).

Validation and test sets are fixed: :func:`~.prep.speaker_mixtures.write_speaker_mixtures`
writes them in the wsj0-mix layout, which ``evaluate`` and Asteroid's ``Wsj0mixDataset`` read unchanged.
"""
from typing import Optional

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from .augment import Augmenter
from .levels import active_level
from .mixing import ACTIVE_LEVEL_DB, draw_gains_db, rescale_if_clipping
from .speakers import SpeakerBank

MIN_ACTIVE_RMS = 1e-4  # a drawn segment quieter than this while active (-80 dBFS) is drawn again
MAX_REDRAWS = 20


class DynamicMixDataset(Dataset):
    """New C-speaker mixtures every epoch from a :class:`SpeakerBank` (see the module docstring).

    Items are ``(mixture [T], targets [C, T])`` float tensors, as Asteroid's ``Wsj0mixDataset``.
    With ``augment`` on, each source is perturbed (speed, band, tilt: the target too), put in a
    room (the target stays dry unless ``reverb_target: reverberant``), and the mixture gets
    noise and gain; the sources are levelled after the perturbation, on the target.
    """

    def __init__(
        self,
        bank: SpeakerBank,
        n_src: int,
        segment: float,
        examples_per_epoch: int,
        seed: int = 0,
        augment: Optional[Augmenter] = None,
        max_relative_db: float = 5.0,
    ):
        if len(bank) < n_src:
            raise ValueError(f"{bank.root} has {len(bank)} speakers, fewer than n_src={n_src}.")
        self.bank, self.n_src, self.seed = bank, n_src, seed
        self.n_samples = int(round(segment * bank.sample_rate))
        self.examples_per_epoch = int(examples_per_epoch)
        self.augment = augment or Augmenter(sample_rate=bank.sample_rate)
        self.max_relative_db = max_relative_db
        self.speed_max = float(self.augment.conf["speed_max"])

    def __len__(self) -> int:
        return self.examples_per_epoch

    def draw(self, epoch: int, index: int):
        """Example ``index`` of ``epoch``: (mixture, targets, speaker names, gains in dB)."""
        rng = np.random.default_rng([self.seed, epoch, index])
        chosen = rng.choice(len(self.bank), size=self.n_src, replace=False)
        raw_len = int(np.ceil(self.n_samples * self.speed_max)) + 1  # speed-up shortens
        wet, dry = [], []
        for k in chosen:
            for _ in range(MAX_REDRAWS):
                source = self.augment.source(self.bank.draw_segment(self.bank.speakers[k], raw_len, rng), rng)
                start = int(rng.integers(len(source) - self.n_samples + 1))
                source = source[start : start + self.n_samples]
                if np.max(np.abs(source)) > 0 and active_level(source, self.bank.sample_rate, method="frames") > MIN_ACTIVE_RMS:
                    break
            else:
                raise ValueError(f"Speaker {self.bank.speakers[k].name} of {self.bank.root} gave {MAX_REDRAWS} silent segments: check its recordings.")
            in_mix, target = self.augment.room(source, rng)
            wet.append(in_mix)
            dry.append(target)
        gains = draw_gains_db(rng, self.n_src, self.max_relative_db)
        scales = [10 ** ((ACTIVE_LEVEL_DB + g) / 20) / active_level(t, self.bank.sample_rate, method="frames") for t, g in zip(dry, gains)]
        targets = np.stack([t * s for t, s in zip(dry, scales)]).astype(np.float32)
        mixture = np.sum([w * s for w, s in zip(wet, scales)], axis=0).astype(np.float32)
        mixture, targets = self.augment.mixture(mixture, targets, rng)
        mixture, targets = rescale_if_clipping(mixture, targets)
        return mixture, targets, [self.bank.speakers[k].name for k in chosen], gains

    def __getitem__(self, item: int):
        epoch, index = divmod(int(item), self.examples_per_epoch)
        mixture, targets, _, _ = self.draw(epoch, index)
        return torch.from_numpy(np.ascontiguousarray(mixture)), torch.from_numpy(np.ascontiguousarray(targets))


class EpochSampler(Sampler):
    """Yields ``epoch * n + i`` for i in 0..n-1, so :class:`DynamicMixDataset` knows the epoch in
    every worker. Lightning calls ``set_epoch`` before each epoch (and wraps this sampler for DDP,
    each rank then drawing its own share of the indices)."""

    def __init__(self, n: int):
        self.n, self.epoch = n, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        return iter(range(self.epoch * self.n, (self.epoch + 1) * self.n))
