"""DPRNN maskers: Asteroid's DPRNN separator (its blocks, reused) followed by a :class:`MaskHead`."""
from typing import Optional

import torch
from torch import nn
from asteroid.masknn import norms
from asteroid.masknn.recurrent import DPRNNBlock

from .head import MaskHead, chunk


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
        hop_size (int, optional): Hop between chunks. Defaults to ``chunk_size // 2``.
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
        hop_size: Optional[int] = 50,
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


class _DPRNNMasker(nn.Module):
    """Trunk + head. Subclasses fix which head configurations they expose."""

    def __init__(self, in_chan: int, n_src: int, out_chan: Optional[int], head_kwargs: dict, **trunk_kwargs):
        super().__init__()
        self.n_src = n_src
        self.out_chan = in_chan if out_chan is None else out_chan
        self.trunk = DPRNNTrunk(in_chan, **trunk_kwargs)
        self.head = MaskHead(
            self.trunk.bn_chan,
            self.out_chan,
            n_src,
            chunk_size=self.trunk.chunk_size,
            hop_size=self.trunk.hop_size,
            **head_kwargs,
        )

    def forward(self, mixture_w: torch.Tensor) -> torch.Tensor:
        """Encoded mixture ``(batch, in_chan, frames)`` -> masks ``(batch, n_src, out_chan, frames)``."""
        return self.head(self.trunk(mixture_w), n_frames=mixture_w.shape[-1])

    def branch_masks(self, mixture_w: torch.Tensor) -> torch.Tensor:
        """The head's P masks before they are summed in groups: ``(batch, n_outputs, out_chan, frames)``."""
        return self.head.branch_masks(self.trunk(mixture_w), n_frames=mixture_w.shape[-1])

    def _base_config(self) -> dict:
        return {**self.trunk.get_config(), "n_src": self.n_src, "out_chan": self.out_chan}


class OverseparationDPRNN(_DPRNNMasker):
    """DPRNN masker with overseparation-grouping (the paper's Sec. 2.2 and 3.2).

    ``n_outputs`` (P) shallow output layers, each followed by ``mask_act`` (f); the P masks are
    summed in ``n_src`` (C) fixed contiguous groups. ``n_outputs == n_src`` is the baseline.

    Args:
        in_chan (int): Input channels (the encoder's filters).
        n_src (int): Number of sources C.
        n_outputs (int, optional): Number of mask outputs P, a multiple of ``n_src``.
            Defaults to ``n_src``.
        out_chan (int, optional): Mask bins. Defaults to ``in_chan``.
        mask_act (str): f, any Asteroid activation name, ``"linear"`` for none.
        gated_head (bool): Asteroid's gated output head instead of the paper's plain one.
        **trunk_kwargs: :class:`DPRNNTrunk` arguments.
    """

    def __init__(
        self,
        in_chan: int,
        n_src: int,
        n_outputs: Optional[int] = None,
        out_chan: Optional[int] = None,
        mask_act: str = "relu",
        gated_head: bool = False,
        **trunk_kwargs,
    ):
        head_kwargs = dict(n_outputs=n_outputs, mask_act=mask_act, gated=gated_head)
        super().__init__(in_chan, n_src, out_chan, head_kwargs, **trunk_kwargs)
        self.n_outputs, self.mask_act, self.gated_head = self.head.n_outputs, mask_act, gated_head

    def get_config(self) -> dict:
        return {
            **self._base_config(),
            "n_outputs": self.n_outputs,
            "mask_act": self.mask_act,
            "gated_head": self.gated_head,
        }


class DeepMaskDPRNN(_DPRNNMasker):
    """DPRNN masker with deep mask estimation (the paper's Sec. 2.1): one MLP per source.

    Each source's mask is ``mask_act(MLP_k(H))`` with an MLP of ``mlp_layers`` layers, ``mlp_act``
    after all but the last. The paper's MLPs have 3 layers with Tanh; ``mlp_hidden=16`` is its
    MLP (S) and ``mlp_hidden=64`` its MLP (L).

    Args:
        in_chan (int): Input channels (the encoder's filters).
        n_src (int): Number of sources C.
        mlp_hidden (int): Hidden units of each MLP.
        mlp_layers (int): Linear layers in each MLP (>= 1).
        mlp_act (str): Activation between MLP layers.
        out_chan (int, optional): Mask bins. Defaults to ``in_chan``.
        mask_act (str): f, after the last MLP layer.
        gated_head (bool): Asteroid's Tanh x Sigmoid gate before the MLPs.
        **trunk_kwargs: :class:`DPRNNTrunk` arguments.
    """

    def __init__(
        self,
        in_chan: int,
        n_src: int,
        mlp_hidden: int = 64,
        mlp_layers: int = 3,
        mlp_act: str = "tanh",
        out_chan: Optional[int] = None,
        mask_act: str = "relu",
        gated_head: bool = False,
        **trunk_kwargs,
    ):
        if mlp_hidden is None:
            raise ValueError("DeepMaskDPRNN needs mlp_hidden (hidden units per MLP layer), got None.")
        head_kwargs = dict(
            mask_act=mask_act,
            gated=gated_head,
            mlp_hidden=mlp_hidden,
            mlp_layers=mlp_layers,
            mlp_act=mlp_act,
        )
        super().__init__(in_chan, n_src, out_chan, head_kwargs, **trunk_kwargs)
        self.mlp_hidden, self.mlp_layers, self.mlp_act = mlp_hidden, mlp_layers, mlp_act
        self.mask_act, self.gated_head = mask_act, gated_head

    def get_config(self) -> dict:
        return {
            **self._base_config(),
            "mlp_hidden": self.mlp_hidden,
            "mlp_layers": self.mlp_layers,
            "mlp_act": self.mlp_act,
            "mask_act": self.mask_act,
            "gated_head": self.gated_head,
        }
