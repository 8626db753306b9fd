"""Overseparation-grouping and deep mask estimation for Asteroid's DPRNN-TasNet.

Importing the package registers its models with ``asteroid.models``, so
``asteroid.models.get`` and ``BaseModel.from_pretrained`` find them.
"""
__version__ = "0.1.0.dev0"

from .models import DeepMaskDPRNNTasNet, OverseparationDPRNNTasNet  # noqa: E402  (registers them)

__all__ = ["DeepMaskDPRNNTasNet", "OverseparationDPRNNTasNet", "__version__"]
