"""Recipe configurations: the shipped ``conf.yml`` files, ``--key value`` overrides, and the model they build.

The recipes' ``egs/<recipe>/local/conf.yml`` are links to the files of :data:`RECIPE_CONFS`, so
that an installed package (the grid, the study, the benchmarks) reads the same configuration as a
checkout's ``run.sh``.
"""
import argparse
import json
from pathlib import Path

import torch
import yaml

from ..models import make_model, model_name
from ..models.registry import SEPARATORS

RECIPE_CONFS = Path(__file__).resolve().parent / "confs"


def recipe_conf(recipe: str) -> Path:
    """The shipped configuration of a recipe: ``demo``, ``voices``, ``wsj0-2mix`` (also wsj0-3mix's) or ``whamr``."""
    path = RECIPE_CONFS / f"{recipe}.yml"
    if not path.is_file():
        known = sorted(p.stem for p in RECIPE_CONFS.glob("*.yml"))
        raise FileNotFoundError(f"No shipped configuration for recipe {recipe!r}: expected one of {known}.")
    return path


def conf_with_overrides(conf_path, args=()) -> dict:
    """A recipe's ``conf.yml`` with ``--key value`` overrides of any of its keys (Asteroid's parser).

    The separator named by the model (``--model`` if given, else the conf's ``head.model``) takes
    its section of the conf as ``masknet``; the other separators' sections are dropped (their keys
    share names, e.g. ``n_repeats``, so only one can take overrides).
    """
    from asteroid.utils import parse_args_as_dict, prepare_parser_from_dict

    conf = yaml.safe_load(Path(conf_path).read_text())
    args = list(args)
    model = args[args.index("--model") + 1] if "--model" in args[:-1] else conf["head"]["model"]
    section = model_name(model).conf_section
    if section not in conf:
        raise ValueError(f"{conf_path} has no {section!r} section, which model {model!r} needs for its separator.")
    masknet = conf.pop(section)
    for other, *_ in SEPARATORS.values():
        conf.pop(other, None)
    conf["masknet"] = masknet
    parser = prepare_parser_from_dict(conf, argparse.ArgumentParser(prog="asteroid-deepmask train"))
    conf, _ = parse_args_as_dict(parser, return_plain_args=True, args=args)
    conf.pop("main_args", None)
    return conf


def model_from_conf(conf: dict) -> torch.nn.Module:
    """Build the model of a recipe configuration (sections ``head``, ``masknet``, ``filterbank``, ``data``)."""
    head = conf["head"]
    entry = model_name(head["model"])
    kwargs = {key: head[key] for key in entry.head_keys if key in head}
    masker_class = entry.model_class.masker_class
    unknown = set(conf["masknet"]) - masker_class.trunk_arguments() - {"in_chan"}
    if unknown:
        raise ValueError(
            f"The masknet section has {sorted(unknown)}, which {masker_class.trunk_class.__name__} (the separator of "
            f"{entry.name!r}) does not take: give it its own conf section {entry.conf_section!r}."
        )
    return make_model(
        entry.name,
        n_src=conf["data"]["n_src"],
        sample_rate=conf["data"]["sample_rate"],
        **kwargs,
        **conf["masknet"],
        **conf["filterbank"],
    )


def corpus_settings(conf: dict) -> dict:
    """The generator settings of the training corpus, from its splits' ``corpus.json``, when found."""
    settings = {}
    for key in ("train_dir", "valid_dir", "test_dir"):
        if not conf["data"].get(key):
            continue
        mix_json = Path(conf["data"][key]) / "mix.json"
        if not mix_json.is_file():
            continue
        first_wav = Path(json.loads(mix_json.read_text())[0][0])
        marker = first_wav.parent.parent / "corpus.json"
        if marker.is_file():
            settings[key] = json.loads(marker.read_text())["settings"]
    return settings
