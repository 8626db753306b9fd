"""The datasets the recipes train and evaluate on, chosen by the configuration."""
from pathlib import Path

from asteroid.data import Wsj0mixDataset


def check_json_dir(path, what: str) -> None:
    """A clear error when ``path`` holds no metadata that :func:`make_dataset` can read."""
    if not list(Path(path).glob("mix*.json")):
        raise FileNotFoundError(
            f"No {what} metadata at {path}: expected {Path(path) / 'mix.json'} or WHAMR!'s mix_*.json "
            "(run the recipe's metadata stage)."
        )


def make_dataset(data_conf: dict, json_dir, segment):
    """The json-listed dataset a recipe configuration names (``data.dataset``: ``wsj0mix``, ``whamr``,
    or ``speakers``, whose fixed validation and test sets are wsj0-mix folders)."""
    kind = data_conf.get("dataset", "wsj0mix")
    if kind == "whamr":
        from .whamr import WhamrDataset

        return WhamrDataset(
            str(json_dir), data_conf.get("task", "sep_reverb_noisy"), data_conf["sample_rate"], segment,
            data_conf.get("targets", "reverberant"),
        )
    if kind in ("wsj0mix", "speakers"):  # speakers: validation and test sets are fixed wsj0-mix folders
        return Wsj0mixDataset(str(json_dir), n_src=data_conf["n_src"], sample_rate=data_conf["sample_rate"], segment=segment)
    raise ValueError(f"data.dataset must be 'wsj0mix', 'whamr' or 'speakers', got {kind!r}.")


def make_training_dataset(conf: dict):
    """The training set of a recipe configuration: a json folder (``data.train_dir``), or with
    ``data.dataset: speakers`` mixtures made on the fly from the speaker folder
    ``data.train_speakers``, ``data.examples_per_epoch`` per epoch, augmented by the ``augment``
    section; returns ``(dataset, sampler or None)``."""
    data = conf["data"]
    if data.get("dataset", "wsj0mix") != "speakers":
        check_json_dir(data["train_dir"], "training")
        return make_dataset(data, data["train_dir"], data["segment"]), None
    from .augment import Augmenter
    from .speakers import DynamicMixDataset, EpochSampler, SpeakerBank

    if not data.get("train_speakers"):
        raise ValueError("data.dataset is 'speakers' but data.train_speakers is not set: give the folder of speaker folders (--train_speakers DIR).")
    augment = Augmenter(conf.get("augment"), data["sample_rate"])
    bank = SpeakerBank(data["train_speakers"], data["sample_rate"], min_seconds=data["segment"],
                       min_speakers=data["n_src"], cache_dir=data.get("cache_dir"))
    dataset = DynamicMixDataset(bank, data["n_src"], data["segment"], data["examples_per_epoch"],
                                seed=conf["training"]["seed"], augment=augment)
    return dataset, EpochSampler(len(dataset))
