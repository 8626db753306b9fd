"""DPRNN maskers: Asteroid's DPRNN separator (its blocks, reused) followed by a :class:`MaskHead`."""
from typing import Optional

import torch
from torch import nn
from asteroid.masknn import norms
from asteroid.masknn.recurrent import DPRNNBlock

from .head import chunk
from .maskers import DeepMaskMasker, OverseparationMasker


class DPRNNTrunk(nn.Module):
    """The separator of Asteroid's ``DPRNN`` without its output layer.

    Layer norm and 1x1 bottleneck, chunking, then ``n_repeats`` Asteroid ``DPRNNBlock`` s.
    Parameter names match ``asteroid.masknn.DPRNN`` (``bottleneck``, ``net``).
    Defaults are the paper's configuration (Sec. 3.2).

    Args:
        in_chan (int): Input channels (the encoder's filters).
        bn_chan (int): Bottleneck channels.
        hid_size (int): Hidden units of every LSTM.
        chunk_size (int): Chunk size of the dual-path segmentation.
        hop_size (int, optional): Hop between chunks. Defaults to ``chunk_size // 2`` (as in
            Asteroid; 50 for the paper's chunks of 100).
        n_repeats (int): Number of DPRNN blocks.
        norm_type (str): ``"gLN"`` or ``"cLN"``.
        bidirectional (bool): Bidirectional inter-chunk RNN (the intra-chunk RNN always is).
        rnn_type (str): ``"RNN"``, ``"LSTM"`` or ``"GRU"``.
        num_layers (int): Layers in each RNN.
        dropout (float): Dropout in the RNNs.
        use_mulcat (bool): Use MulCat RNNs (Asteroid's option).
    """

    def __init__(
        self,
        in_chan: int,
        bn_chan: int = 64,
        hid_size: int = 128,
        chunk_size: int = 100,
        hop_size: Optional[int] = None,
        n_repeats: int = 6,
        norm_type: str = "gLN",
        bidirectional: bool = True,
        rnn_type: str = "LSTM",
        num_layers: int = 1,
        dropout: float = 0.0,
        use_mulcat: bool = False,
    ):
        super().__init__()
        if n_repeats < 1:
            raise ValueError(f"n_repeats (number of DPRNN blocks) must be >= 1, got {n_repeats}.")
        hop_size = chunk_size // 2 if hop_size is None else hop_size
        if not 0 < hop_size <= chunk_size:
            raise ValueError(f"hop_size must be in [1, chunk_size={chunk_size}], got {hop_size}.")
        self.in_chan, self.bn_chan, self.hid_size = in_chan, bn_chan, hid_size
        self.chunk_size, self.hop_size, self.n_repeats = chunk_size, hop_size, n_repeats
        self.norm_type, self.bidirectional, self.rnn_type = norm_type, bidirectional, rnn_type
        self.num_layers, self.dropout, self.use_mulcat = num_layers, dropout, use_mulcat

        self.bottleneck = nn.Sequential(norms.get(norm_type)(in_chan), nn.Conv1d(in_chan, bn_chan, 1))
        self.net = nn.Sequential(
            *[
                DPRNNBlock(
                    bn_chan,
                    hid_size,
                    norm_type=norm_type,
                    bidirectional=bidirectional,
                    rnn_type=rnn_type,
                    use_mulcat=use_mulcat,
                    num_layers=num_layers,
                    dropout=dropout,
                )
                for _ in range(n_repeats)
            ]
        )

    @property
    def feature_chan(self) -> int:
        return self.bn_chan

    def forward(self, mixture_w: torch.Tensor) -> torch.Tensor:
        """``(batch, in_chan, frames)`` -> ``(batch, bn_chan, chunk_size, n_chunks)``."""
        return self.net(chunk(self.bottleneck(mixture_w), self.chunk_size, self.hop_size))

    def get_config(self) -> dict:
        return {
            "in_chan": self.in_chan,
            "bn_chan": self.bn_chan,
            "hid_size": self.hid_size,
            "chunk_size": self.chunk_size,
            "hop_size": self.hop_size,
            "n_repeats": self.n_repeats,
            "norm_type": self.norm_type,
            "bidirectional": self.bidirectional,
            "rnn_type": self.rnn_type,
            "num_layers": self.num_layers,
            "dropout": self.dropout,
            "use_mulcat": self.use_mulcat,
        }


class OverseparationDPRNN(OverseparationMasker):
    """DPRNN masker with overseparation-grouping: :class:`DPRNNTrunk` (Asteroid's DPRNN blocks)
    and the shallow P-output head. Arguments: :class:`OverseparationMasker`'s, and
    :class:`DPRNNTrunk`'s as keywords."""

    trunk_class = DPRNNTrunk


class DeepMaskDPRNN(DeepMaskMasker):
    """DPRNN masker with deep mask estimation: :class:`DPRNNTrunk` (Asteroid's DPRNN blocks) and
    one MLP per source. Arguments: :class:`DeepMaskMasker`'s, and :class:`DPRNNTrunk`'s as keywords."""

    trunk_class = DPRNNTrunk
