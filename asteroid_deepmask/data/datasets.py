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
    """The dataset a recipe configuration names (``data.dataset``: ``wsj0mix`` or ``whamr``)."""
    kind = data_conf.get("dataset", "wsj0mix")
    if kind == "whamr":
        from .whamr import WhamrDataset

        return WhamrDataset(
            str(json_dir), data_conf.get("task", "sep_reverb_noisy"), data_conf["sample_rate"], segment,
            data_conf.get("targets", "reverberant"),
        )
    if kind == "wsj0mix":
        return Wsj0mixDataset(str(json_dir), n_src=data_conf["n_src"], sample_rate=data_conf["sample_rate"], segment=segment)
    raise ValueError(f"data.dataset must be 'wsj0mix' or 'whamr', got {kind!r}.")
