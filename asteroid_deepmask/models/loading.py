"""Reading model files safely: shipped names, local files, URLs and Hugging Face ids.

Everything goes through ``torch.load(weights_only=True)``: a model file never runs code.
"""
import os
import pickle
from pathlib import Path
from typing import Union

import torch
from asteroid.utils.hub_utils import cached_download
from torch.torch_version import TorchVersion

PRETRAINED_DIR = Path(__file__).resolve().parents[1] / "pretrained"
REQUIRED_KEYS = ("model_name", "state_dict", "model_args")


def _looks_local(name: str) -> bool:
    if name.startswith(("http://", "https://")):
        return False
    return name.startswith(("/", ".", "~")) or name.endswith((".pth", ".pt", ".bin", ".ckpt"))


def shipped_models() -> dict:
    """Models shipped with the package: ``{name: path}`` (each has a model card ``{name}.md`` beside it)."""
    return {path.stem: path for path in sorted(PRETRAINED_DIR.glob("*.pth"))}


def load_model_conf(path_or_id: Union[str, os.PathLike]) -> dict:
    """Load a file written by ``serialize()`` without unpickling arbitrary objects.

    ``path_or_id`` is the name of a model shipped with the package (:func:`shipped_models`), a
    local file, an http(s) URL or a Hugging Face repo id (``id@revision``), as accepted by
    Asteroid's ``cached_download``. Loading always uses
    ``torch.load(weights_only=True)``: a model file from the internet never runs code.

    Raises:
        FileNotFoundError: a local-looking path that does not exist (instead of asking the Hub).
        ValueError: the file is not a model file of the expected form.
    """
    name = os.fspath(path_or_id)
    shipped = shipped_models()
    if os.path.isfile(name):
        local = name
    elif name in shipped:
        local = str(shipped[name])
    elif _looks_local(name):
        # cached_download would send a mistyped local path to the Hugging Face Hub as a repo id.
        raise FileNotFoundError(f"No model file at {name!r}: expected a file written by model.serialize().")
    else:
        local = cached_download(name)
    try:
        # Asteroid's own serialize() stores torch.__version__, a TorchVersion (a str subclass with
        # comparisons, nothing executable): allowing it lets Asteroid's model files load too.
        with torch.serialization.safe_globals([TorchVersion]):
            conf = torch.load(local, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise ValueError(
            f"{name!r} was refused by torch.load(weights_only=True): it is corrupt, or it holds "
            f"Python objects other than tensors and plain types, which are never unpickled. {err}"
        ) from None
    except Exception as err:  # torch.load fails on garbage in many ways (RuntimeError, EOFError, IndexError, ...)
        raise ValueError(
            f"{name!r} is not a readable PyTorch model file (corrupt or truncated?): {type(err).__name__}: {err}"
        ) from None
    missing = [key for key in REQUIRED_KEYS if not isinstance(conf, dict) or key not in conf]
    if missing:
        found = sorted(conf) if isinstance(conf, dict) else type(conf).__name__
        raise ValueError(
            f"{name!r} is not a serialized Asteroid model: expected keys {list(REQUIRED_KEYS)}, "
            f"missing {missing}, found {found}."
        )
    return conf
