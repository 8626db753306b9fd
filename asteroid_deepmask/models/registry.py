"""The one table of model names: separator x head -> model class, conf section and head arguments.

A short name is the head, or ``<separator>_<head>`` (DPRNN when no separator is named):
``baseline``, ``overseparation``, ``deepmask``, ``convtasnet_deepmask``, ``dptnet_baseline``, ...
"baseline" is P = C, the paper's baseline. The CLI's ``--model``, the recipes' ``head.model`` and
:func:`make_model` all read this table. Importing it also registers the classes with
``asteroid.models``, so that ``asteroid.models.get`` and ``BaseModel.from_pretrained`` find them.
"""
from dataclasses import dataclass
from typing import Dict, Tuple

import asteroid.models

from .convtasnet import DeepMaskConvTasNet, OverseparationConvTasNet
from .dprnn_tasnet import DeepMaskDPRNNTasNet, OverseparationDPRNNTasNet
from .dptnet import DeepMaskDPTNet, OverseparationDPTNet

MODELS = (
    OverseparationDPRNNTasNet, DeepMaskDPRNNTasNet, OverseparationConvTasNet, DeepMaskConvTasNet,
    OverseparationDPTNet, DeepMaskDPTNet,
)  # fmt: skip

# The recipe confs' section of each separator's arguments, and its (overseparation, deep mask) classes.
SEPARATORS = {
    "dprnn": ("masknet", OverseparationDPRNNTasNet, DeepMaskDPRNNTasNet),
    "convtasnet": ("masknet_convtasnet", OverseparationConvTasNet, DeepMaskConvTasNet),
    "dptnet": ("masknet_dptnet", OverseparationDPTNet, DeepMaskDPTNet),
}
# Which keys of a recipe conf's ``head`` section each head takes; the rest of the section is ignored for it.
HEADS = {
    "baseline": ("mask_act", "gated_head"),
    "overseparation": ("n_outputs", "mask_act", "gated_head", "grouping", "equal_groups"),
    "deepmask": ("mlp_hidden", "mlp_layers", "mlp_act", "mask_act", "gated_head"),
}


@dataclass(frozen=True)
class ModelName:
    """One short model name: its separator, its head, the class it builds, where its arguments are."""

    name: str
    separator: str
    head: str
    model_class: type
    conf_section: str  # the recipe conf's section of the separator's arguments
    head_keys: Tuple[str, ...]  # the keys of the conf's head section it takes


def _table() -> Dict[str, ModelName]:
    table = {}
    for separator, (section, overseparation, deepmask) in SEPARATORS.items():
        for head, keys in HEADS.items():
            name = head if separator == "dprnn" else f"{separator}_{head}"
            model_class = deepmask if head == "deepmask" else overseparation
            table[name] = ModelName(name, separator, head, model_class, section, keys)
    return table


MODEL_NAMES: Dict[str, ModelName] = _table()


def model_name(name: str) -> ModelName:
    """The table's entry of a short name (``"convtasnet_deepmask"``, ``"deepmask"``, ...)."""
    if name not in MODEL_NAMES:
        raise ValueError(f"Unknown model {name!r} in the configuration: expected one of {sorted(MODEL_NAMES)}.")
    return MODEL_NAMES[name]


def make_model(name: str, n_src: int = 2, **kwargs) -> asteroid.models.BaseModel:
    """Build a model from a short name (``baseline``, ``overseparation``, ``deepmask``, ...) or any
    ``asteroid.models`` class name (``DeepMaskDPRNNTasNet``, Asteroid's ``DPRNNTasNet``, ...)."""
    if name.endswith("baseline") and kwargs.get("n_outputs", n_src) != n_src:
        raise ValueError(f"The baseline has n_outputs == n_src; use 'overseparation' for n_outputs={kwargs['n_outputs']}.")
    try:
        model_class = MODEL_NAMES[name].model_class if name in MODEL_NAMES else asteroid.models.get(name)
    except ValueError:
        raise ValueError(
            f"Unknown model {name!r}: expected one of {sorted(MODEL_NAMES)} or an asteroid.models class name."
        ) from None
    return model_class(n_src=n_src, **kwargs)


def _register(model_class: type) -> None:
    """``asteroid.models.register_model``, made idempotent for re-imports and reloads.

    Asteroid refuses a name twice; a class of the same module and name (this one, reloaded)
    replaces the old one, any other owner of the name is an error.
    """
    name = model_class.__name__
    registered = getattr(asteroid.models, name, None)
    if registered is None:
        asteroid.models.register_model(model_class)
    elif (registered.__module__, registered.__qualname__) == (model_class.__module__, model_class.__qualname__):
        setattr(asteroid.models, name, model_class)
    else:
        raise ValueError(f"asteroid.models already has a {name} from {registered.__module__}.")


for _model_class in MODELS:
    _register(_model_class)
