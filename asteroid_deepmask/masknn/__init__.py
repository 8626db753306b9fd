"""Mask networks: the shared :class:`MaskHead` and the maskers built on it (a separator trunk
reusing Asteroid's blocks, then the head): DPRNN, Conv-TasNet's TDConvNet and DPTNet."""
from .head import BranchMLP, MaskHead, group_masks
from .maskers import DeepMaskMasker, HeadMasker, OverseparationMasker
from .dprnn import DeepMaskDPRNN, DPRNNTrunk, OverseparationDPRNN
from .convtasnet import DeepMaskTDConvNet, OverseparationTDConvNet, TDConvNetTrunk
from .dptnet import DeepMaskDPTransformer, DPTransformerTrunk, OverseparationDPTransformer

__all__ = [
    "BranchMLP", "MaskHead", "group_masks", "HeadMasker", "OverseparationMasker", "DeepMaskMasker",
    "DPRNNTrunk", "OverseparationDPRNN", "DeepMaskDPRNN",
    "TDConvNetTrunk", "OverseparationTDConvNet", "DeepMaskTDConvNet",
    "DPTransformerTrunk", "OverseparationDPTransformer", "DeepMaskDPTransformer",
]  # fmt: skip
