"""Overseparation-grouping and deep mask estimation for Asteroid's DPRNN-TasNet (the paper),
and for its Conv-TasNet and DPTNet.

Importing the package registers its models with ``asteroid.models``, so
``asteroid.models.get`` and ``BaseModel.from_pretrained`` find them.

The folders follow the flow, one way: :mod:`.data` (datasets; ``data.prep`` makes corpora) ->
:mod:`.masknn` (separator trunks and, in ``masknn/head.py``, where the mask is estimated) ->
:mod:`.grouping` -> :mod:`.models` -> :mod:`.engine` (train, evaluate) -> :mod:`.reporting` ->
:mod:`.paper` (its numbers, grid and study) and :mod:`.cli`; :mod:`.losses`, :mod:`.tools`
(complexity, benchmarks), :mod:`.inference` and :mod:`.runtime` beside them.
"""
from .version import __version__
from .models import (  # registers them
    DeepMaskConvTasNet, DeepMaskDPRNNTasNet, DeepMaskDPTNet, OverseparationConvTasNet, OverseparationDPRNNTasNet,
    OverseparationDPTNet,
)  # fmt: skip

__all__ = [
    "DeepMaskDPRNNTasNet", "OverseparationDPRNNTasNet", "DeepMaskConvTasNet", "OverseparationConvTasNet",
    "DeepMaskDPTNet", "OverseparationDPTNet", "__version__",
]  # fmt: skip
