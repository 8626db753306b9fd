"""Maskers = a separator trunk (its features, without its output layer) + the shared :class:`MaskHead`.

A trunk class has ``__init__(in_chan, **kwargs)``, ``forward(mixture_w)`` giving chunked
``(batch, feature_chan, chunk_size, n_chunks)`` or frame ``(batch, feature_chan, frames)``
features, ``feature_chan``, ``chunk_size`` (``None`` for frame features), ``hop_size`` and
``get_config()``. A separator gets both heads by naming its trunk in two small subclasses.
"""
import inspect
from typing import Optional

import torch
from torch import nn

from .head import MaskHead


class HeadMasker(nn.Module):
    """Trunk + head; subclasses set ``trunk_class`` and which head configurations they expose."""

    trunk_class: type = None

    def __init__(self, in_chan: int, n_src: int, out_chan: Optional[int], head_kwargs: dict, **trunk_kwargs):
        super().__init__()
        self.n_src = n_src
        self.out_chan = in_chan if out_chan is None else out_chan
        self.trunk = self.trunk_class(in_chan, **trunk_kwargs)
        self.head = MaskHead(
            self.trunk.feature_chan,
            self.out_chan,
            n_src,
            chunk_size=self.trunk.chunk_size,
            hop_size=self.trunk.hop_size,
            **head_kwargs,
        )

    @classmethod
    def trunk_arguments(cls) -> set:
        """The keyword arguments this masker passes to its separator trunk (besides ``in_chan``)."""
        return set(inspect.signature(cls.trunk_class.__init__).parameters) - {"self", "in_chan"}

    def forward(self, mixture_w: torch.Tensor) -> torch.Tensor:
        """Encoded mixture ``(batch, in_chan, frames)`` -> masks ``(batch, n_src, out_chan, frames)``."""
        return self.head(self.trunk(mixture_w), n_frames=mixture_w.shape[-1])

    def branch_masks(self, mixture_w: torch.Tensor) -> torch.Tensor:
        """The head's P masks before they are summed in groups: ``(batch, n_outputs, out_chan, frames)``."""
        return self.head.branch_masks(self.trunk(mixture_w), n_frames=mixture_w.shape[-1])

    def _base_config(self) -> dict:
        return {**self.trunk.get_config(), "n_src": self.n_src, "out_chan": self.out_chan}


class OverseparationMasker(HeadMasker):
    """Overseparation-grouping (the paper's Sec. 2.2): ``n_outputs`` (P) shallow output layers,
    each followed by ``mask_act`` (f), summed in ``n_src`` (C) fixed contiguous groups.
    ``n_outputs == n_src`` is the baseline.

    Args:
        in_chan (int): Input channels (the encoder's filters).
        n_src (int): Number of sources C.
        n_outputs (int, optional): Number of mask outputs P, a multiple of ``n_src``.
            Defaults to ``n_src``.
        out_chan (int, optional): Mask bins. Defaults to ``in_chan``.
        mask_act (str): f, any Asteroid activation name, ``"linear"`` for none.
        gated_head (bool): Asteroid's gated dual-path output head instead of the paper's plain one.
        **trunk_kwargs: The trunk's arguments.
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


class DeepMaskMasker(HeadMasker):
    """Deep mask estimation (the paper's Sec. 2.1): one MLP per source.

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
        gated_head (bool): Asteroid's Tanh x Sigmoid gate before the MLPs (dual-path trunks only).
        **trunk_kwargs: The trunk's arguments.
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
            raise ValueError(f"{type(self).__name__} needs mlp_hidden (hidden units per MLP layer), got None.")
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
