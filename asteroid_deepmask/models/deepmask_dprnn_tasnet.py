"""DPRNN-TasNet with deep (per-source MLP) mask estimation."""
from typing import Optional

from ..masknn import DeepMaskDPRNN
from .base import DeepMaskBaseModel


class DeepMaskDPRNNTasNet(DeepMaskBaseModel):
    """DPRNN-TasNet whose masks come from one MLP per source.

    The paper's deep mask estimation module (Sec. 2.1, Table 2): every source has its own
    ``mlp_layers``-layer MLP, ``mlp_act`` between layers and ``mask_act`` after the last one.
    ``mlp_hidden=16`` is the paper's MLP (S), ``mlp_hidden=64`` its MLP (L).

    Args:
        n_src (int): Number of sources C.
        mlp_hidden (int): Hidden units of each MLP.
        mlp_layers (int): Linear layers per MLP (>= 1).
        mlp_act (str): Activation between MLP layers.
        mask_act (str): f, after the last MLP layer.
        gated_head (bool): Asteroid's Tanh x Sigmoid gate before the MLPs (not in the paper).
        out_chan (int, optional): Mask bins. Defaults to ``n_filters``.
        **kwargs: The other arguments of Asteroid's ``DPRNNTasNet`` (see
            :class:`~asteroid_deepmask.models.OverseparationDPRNNTasNet`); defaults are the
            paper's configuration.

    References
        Kai Li, Xiaolin Hu, Yi Luo. "On the Use of Deep Mask Estimation Module for Neural
        Source Separation Systems", Interspeech 2022. https://arxiv.org/abs/2206.07347
    """

    def __init__(
        self,
        n_src: int,
        mlp_hidden: int = 64,
        mlp_layers: int = 3,
        mlp_act: str = "tanh",
        mask_act: str = "relu",
        gated_head: bool = False,
        out_chan: Optional[int] = None,
        **kwargs,
    ):
        masker_kwargs = dict(
            mlp_hidden=mlp_hidden,
            mlp_layers=mlp_layers,
            mlp_act=mlp_act,
            mask_act=mask_act,
            gated_head=gated_head,
            out_chan=out_chan,
        )
        super().__init__(DeepMaskDPRNN, n_src, masker_kwargs, **kwargs)
