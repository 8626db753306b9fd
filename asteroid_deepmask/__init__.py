"""Overseparation-grouping and deep mask estimation for Asteroid's DPRNN-TasNet (the paper),
and for its Conv-TasNet and DPTNet.

Importing the package registers its models with ``asteroid.models``, so
``asteroid.models.get`` and ``BaseModel.from_pretrained`` find them.
"""
__version__ = "0.1.0.dev0"

from .models import (  # noqa: E402  (registers them)
    DeepMaskConvTasNet, DeepMaskDPRNNTasNet, DeepMaskDPTNet, OverseparationConvTasNet, OverseparationDPRNNTasNet,
    OverseparationDPTNet,
)  # fmt: skip

__all__ = [
    "DeepMaskDPRNNTasNet", "OverseparationDPRNNTasNet", "DeepMaskConvTasNet", "OverseparationConvTasNet",
    "DeepMaskDPTNet", "OverseparationDPTNet", "__version__",
]  # fmt: skip
