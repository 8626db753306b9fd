"""DPTNet maskers: Asteroid's dual-path transformer layers (reused) followed by a :class:`MaskHead`."""
from math import ceil
from typing import Optional

import torch
from torch import nn
from asteroid.dsp.overlap_add import DualPathProcessing
from asteroid.masknn import norms
from asteroid.masknn.attention import ImprovedTransformedLayer

from .head import chunk
from .maskers import DeepMaskMasker, OverseparationMasker


class DPTransformerTrunk(nn.Module):
    """The separator of Asteroid's ``DPTransformer`` (DPTNet) without its output layer.

    Optional input projection (when ``in_chan`` is not a multiple of ``n_heads``), norm,
    chunking, then ``n_repeats`` pairs of Asteroid ``ImprovedTransformedLayer`` s (intra-, then
    inter-chunk). Parameter names match ``asteroid.masknn.DPTransformer`` (``input_layer``,
    ``in_norm``, ``layers``); defaults are Asteroid's.

    Args:
        in_chan (int): Input channels (the encoder's filters).
        n_heads (int): Attention heads.
        ff_hid (int): Hidden units of the feed-forward part (a recurrent layer in DPTNet).
        chunk_size (int): Chunk size of the dual-path segmentation.
        hop_size (int, optional): Hop between chunks. Defaults to ``chunk_size // 2``.
        n_repeats (int): Number of intra/inter layer pairs.
        norm_type (str): ``"gLN"`` or ``"cLN"``.
        ff_activation (str): Activation of the feed-forward part.
        bidirectional (bool): Bidirectional inter-chunk layers.
        dropout (float): Dropout.
    """

    def __init__(
        self,
        in_chan: int,
        n_heads: int = 4,
        ff_hid: int = 256,
        chunk_size: int = 100,
        hop_size: Optional[int] = None,
        n_repeats: int = 6,
        norm_type: str = "gLN",
        ff_activation: str = "relu",
        bidirectional: bool = True,
        dropout: float = 0.0,
    ):
        super().__init__()
        hop_size = chunk_size // 2 if hop_size is None else hop_size
        self.in_chan, self.n_heads, self.ff_hid = in_chan, n_heads, ff_hid
        self.chunk_size, self.hop_size, self.n_repeats = chunk_size, hop_size, n_repeats
        self.norm_type, self.ff_activation = norm_type, ff_activation
        self.bidirectional, self.dropout = bidirectional, dropout
        self.feature_chan = ceil(in_chan / n_heads) * n_heads  # attention needs a multiple of n_heads
        self.input_layer = nn.Linear(in_chan, self.feature_chan) if in_chan % n_heads else None
        self.in_norm = norms.get(norm_type)(self.feature_chan)
        self.ola = DualPathProcessing(chunk_size, hop_size)  # its intra/inter reshapes
        self.layers = nn.ModuleList(
            nn.ModuleList(
                [
                    ImprovedTransformedLayer(self.feature_chan, n_heads, ff_hid, dropout, ff_activation, True, norm_type),
                    ImprovedTransformedLayer(self.feature_chan, n_heads, ff_hid, dropout, ff_activation, bidirectional, norm_type),
                ]
            )
            for _ in range(n_repeats)
        )

    def forward(self, mixture_w: torch.Tensor) -> torch.Tensor:
        """``(batch, in_chan, frames)`` -> ``(batch, feature_chan, chunk_size, n_chunks)``."""
        if self.input_layer is not None:
            mixture_w = self.input_layer(mixture_w.transpose(1, 2)).transpose(1, 2)
        chunks = chunk(self.in_norm(mixture_w), self.chunk_size, self.hop_size)  # = self.ola.unfold, exportable
        for intra, inter in self.layers:
            chunks = self.ola.inter_process(self.ola.intra_process(chunks, intra), inter)
        return chunks

    def get_config(self) -> dict:
        return {
            "in_chan": self.in_chan,
            "n_heads": self.n_heads,
            "ff_hid": self.ff_hid,
            "chunk_size": self.chunk_size,
            "hop_size": self.hop_size,
            "n_repeats": self.n_repeats,
            "norm_type": self.norm_type,
            "ff_activation": self.ff_activation,
            "bidirectional": self.bidirectional,
            "dropout": self.dropout,
        }


class OverseparationDPTransformer(OverseparationMasker):
    """DPTNet masker with overseparation-grouping: :class:`DPTransformerTrunk` and the shallow
    P-output dual-path head. Arguments: :class:`OverseparationMasker`'s, and
    :class:`DPTransformerTrunk`'s as keywords."""

    trunk_class = DPTransformerTrunk


class DeepMaskDPTransformer(DeepMaskMasker):
    """DPTNet masker with deep mask estimation: :class:`DPTransformerTrunk` and one MLP per
    source. Arguments: :class:`DeepMaskMasker`'s, and :class:`DPTransformerTrunk`'s as keywords."""

    trunk_class = DPTransformerTrunk
