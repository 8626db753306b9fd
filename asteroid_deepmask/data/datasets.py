"""The datasets the recipes train and evaluate on, chosen by the configuration.

WHAMR!'s targets are the *reverberant* sources, as in the paper (Sec. 3.3): Asteroid's
``WhamRDataset`` always returns the anechoic sources; :class:`WhamrDataset` extends it with
``targets="reverberant"`` (default) and keeps ``targets="anechoic"``.
"""
import json
from pathlib import Path

from asteroid.data import LibriMix, WhamRDataset, Wsj0mixDataset

from .augment import Augmenter
from .dynamic_mix import DynamicMixDataset, EpochSampler
from .speakers import SpeakerBank

TARGETS = {"reverberant": "reverb", "anechoic": "anechoic"}


def check_json_dir(path, what: str) -> None:
    """A clear error when ``path`` holds no metadata that :func:`make_dataset` can read."""
    if not list(Path(path).glob("mix*.json")) and not list(Path(path).glob("mixture_*.csv")):
        raise FileNotFoundError(
            f"No {what} metadata at {path}: expected {Path(path) / 'mix.json'}, WHAMR!'s mix_*.json "
            "or LibriMix's mixture_*.csv (run the recipe's metadata stage)."
        )


def make_dataset(data_conf: dict, json_dir, segment):
    """The listed dataset a recipe configuration names (``data.dataset``: ``wsj0mix``, ``whamr``,
    ``librimix`` (a folder of LibriMix CSVs, ``data.task`` ``sep_clean`` or ``sep_noisy``), or
    ``speakers``, whose fixed validation and test sets are of the kind ``data.fixed_sets``,
    ``wsj0mix`` by default)."""
    kind = data_conf.get("dataset", "wsj0mix")
    if kind == "speakers":  # trained on the fly; its fixed validation and test sets are of another kind
        kind = data_conf.get("fixed_sets", "wsj0mix")
    if kind == "librimix":
        return LibriMixDataset(str(json_dir), data_conf.get("task", "sep_clean"), data_conf["sample_rate"], data_conf["n_src"], segment)
    if kind == "whamr":
        return WhamrDataset(
            str(json_dir), data_conf.get("task", "sep_reverb_noisy"), data_conf["sample_rate"], segment,
            data_conf.get("targets", "reverberant"),
        )
    if kind == "wsj0mix":
        return Wsj0mixDataset(str(json_dir), n_src=data_conf["n_src"], sample_rate=data_conf["sample_rate"], segment=segment)
    raise ValueError(f"data.dataset must be 'wsj0mix', 'whamr', 'librimix' or 'speakers', got {kind!r}.")


def make_training_dataset(conf: dict):
    """The training set of a recipe configuration: a json folder (``data.train_dir``), or with
    ``data.dataset: speakers`` mixtures made on the fly from the speaker folder
    ``data.train_speakers``, ``data.examples_per_epoch`` per epoch, augmented by the ``augment``
    section; returns ``(dataset, sampler or None)``."""
    data = conf["data"]
    if data.get("dataset", "wsj0mix") != "speakers":
        check_json_dir(data["train_dir"], "training")
        return make_dataset(data, data["train_dir"], data["segment"]), None
    if not data.get("train_speakers"):
        raise ValueError("data.dataset is 'speakers' but data.train_speakers is not set: give the folder of speaker folders (--train_speakers DIR).")
    augment = Augmenter(conf.get("augment"), data["sample_rate"])
    bank = SpeakerBank(data["train_speakers"], data["sample_rate"], min_seconds=data["segment"],
                       min_speakers=data["n_src"], cache_dir=data.get("cache_dir"))
    dataset = DynamicMixDataset(bank, data["n_src"], data["segment"], data["examples_per_epoch"],
                                seed=conf["training"]["seed"], augment=augment)
    return dataset, EpochSampler(len(dataset))


class WhamrDataset(WhamRDataset):
    """Asteroid's ``WhamRDataset`` with a choice of targets: ``"reverberant"`` (the paper's, default)
    returns ``s{k}_reverb``, ``"anechoic"`` returns ``s{k}_anechoic`` as Asteroid does."""

    def __init__(self, json_dir, task="sep_reverb_noisy", sample_rate=8000, segment=4.0, targets="reverberant"):
        if targets not in TARGETS:
            raise ValueError(f"targets must be one of {sorted(TARGETS)}, got {targets!r}.")
        super().__init__(json_dir, task, sample_rate=sample_rate, segment=segment)
        self.targets = targets
        if targets == "anechoic":
            return
        # The parent kept the mixtures long enough for a segment; keep the same ones, in order.
        kept = {path for path, _ in self.mix}
        order = [path for path, _ in json.loads((Path(json_dir) / f"{self.task_dict['mixture']}.json").read_text())]
        index = [i for i, path in enumerate(order) if path in kept]
        self.sources = []
        for name in self.task_dict["sources"]:
            infos = json.loads((Path(json_dir) / f"{name.replace('anechoic', 'reverb')}.json").read_text())
            self.sources.append([infos[i] for i in index])

    def get_infos(self):
        infos = super().get_infos()
        infos["targets"] = self.targets
        return infos


class LibriMixDataset(LibriMix):
    """Asteroid's ``LibriMix`` (one folder of ``mixture_<subset>_mix_<task>.csv``), also listing its
    mixtures as ``mix`` (``[path, length]`` pairs), as the wsj0-mix datasets do, for evaluation's names."""

    @property
    def mix(self):
        return [[path, int(length)] for path, length in zip(self.df["mixture_path"], self.df["length"])]
