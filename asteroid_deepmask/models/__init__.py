"""The package's separation models, registered with ``asteroid.models`` on import.

- :mod:`.base`: what every model shares (encoder, masker, decoder; serialisation; the two head families);
- :mod:`.dprnn_tasnet`, :mod:`.convtasnet`, :mod:`.dptnet`: the models of each separator;
- :mod:`.registry`: the one table of short names (``deepmask``, ``convtasnet_baseline``, ...);
- :mod:`.loading`: safe reading of model files (shipped names, files, URLs, Hugging Face ids).

The mask itself is estimated in :mod:`asteroid_deepmask.masknn.head`.
"""
from .base import DeepMaskBaseModel, DeepMaskModel, OverseparationModel
from .convtasnet import DeepMaskConvTasNet, OverseparationConvTasNet
from .dprnn_tasnet import DeepMaskDPRNNTasNet, OverseparationDPRNNTasNet
from .dptnet import DeepMaskDPTNet, OverseparationDPTNet
from .loading import load_model_conf, shipped_models
from .registry import MODEL_NAMES, MODELS, make_model, model_name

__all__ = [
    "DeepMaskBaseModel", "OverseparationModel", "DeepMaskModel", "DeepMaskDPRNNTasNet", "OverseparationDPRNNTasNet",
    "OverseparationConvTasNet", "DeepMaskConvTasNet", "OverseparationDPTNet", "DeepMaskDPTNet",
    "MODELS", "MODEL_NAMES", "load_model_conf", "make_model", "model_name", "shipped_models",
]  # fmt: skip
