"""The package's separation models, registered with ``asteroid.models`` on import."""
import asteroid.models

from .base import DeepMaskBaseModel, DeepMaskModel, OverseparationModel, load_model_conf, shipped_models
from .convtasnet import DeepMaskConvTasNet, OverseparationConvTasNet
from .deepmask_dprnn_tasnet import DeepMaskDPRNNTasNet
from .dptnet import DeepMaskDPTNet, OverseparationDPTNet
from .overseparation_dprnn_tasnet import OverseparationDPRNNTasNet

MODELS = (
    OverseparationDPRNNTasNet, DeepMaskDPRNNTasNet, OverseparationConvTasNet, DeepMaskConvTasNet,
    OverseparationDPTNet, DeepMaskDPTNet,
)  # fmt: skip


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

# Short names used by the CLI and the recipes' --model option: the head, then the separator
# (DPRNN when none is named). "baseline" is P = C, the paper's baseline.
MODEL_ALIASES = {
    "baseline": OverseparationDPRNNTasNet,
    "overseparation": OverseparationDPRNNTasNet,
    "deepmask": DeepMaskDPRNNTasNet,
    "convtasnet_baseline": OverseparationConvTasNet,
    "convtasnet_overseparation": OverseparationConvTasNet,
    "convtasnet_deepmask": DeepMaskConvTasNet,
    "dptnet_baseline": OverseparationDPTNet,
    "dptnet_overseparation": OverseparationDPTNet,
    "dptnet_deepmask": DeepMaskDPTNet,
}


def make_model(name: str, n_src: int = 2, **kwargs) -> asteroid.models.BaseModel:
    """Build a model from an alias (``baseline``, ``overseparation``, ``deepmask``) or any
    ``asteroid.models`` class name (``DeepMaskDPRNNTasNet``, Asteroid's ``DPRNNTasNet``, ...)."""
    if name.endswith("baseline") and kwargs.get("n_outputs", n_src) != n_src:
        raise ValueError(f"The baseline has n_outputs == n_src; use 'overseparation' for n_outputs={kwargs['n_outputs']}.")
    try:
        model_class = MODEL_ALIASES.get(name) or asteroid.models.get(name)
    except ValueError:
        raise ValueError(
            f"Unknown model {name!r}: expected one of {sorted(MODEL_ALIASES)} or an asteroid.models class name."
        ) from None
    return model_class(n_src=n_src, **kwargs)

__all__ = [
    "DeepMaskBaseModel", "OverseparationModel", "DeepMaskModel", "DeepMaskDPRNNTasNet", "OverseparationDPRNNTasNet",
    "OverseparationConvTasNet", "DeepMaskConvTasNet", "OverseparationDPTNet", "DeepMaskDPTNet",
    "MODELS", "MODEL_ALIASES", "load_model_conf", "make_model", "shipped_models",
]  # fmt: skip
