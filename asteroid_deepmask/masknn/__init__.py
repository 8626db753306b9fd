"""Mask networks: the shared :class:`MaskHead` and the DPRNN maskers built on it."""
from .head import BranchMLP, MaskHead, group_masks
from .dprnn import DeepMaskDPRNN, DPRNNTrunk, OverseparationDPRNN

__all__ = ["BranchMLP", "MaskHead", "group_masks", "DPRNNTrunk", "OverseparationDPRNN", "DeepMaskDPRNN"]
