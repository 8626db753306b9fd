"""DPRNN-TasNet with deep (per-source MLP) mask estimation."""
from ..masknn import DeepMaskDPRNN
from .base import DeepMaskModel


class DeepMaskDPRNNTasNet(DeepMaskModel):
    """DPRNN-TasNet whose masks come from one MLP per source.

    The paper's deep mask estimation module (Sec. 2.1, Table 2): every source has its own
    ``mlp_layers``-layer MLP, ``mlp_act`` between layers and ``mask_act`` after the last one.
    ``mlp_hidden=16`` is the paper's MLP (S), ``mlp_hidden=64`` its MLP (L).

    Args:
        n_src (int): Number of sources C.
        mlp_hidden (int): Hidden units of each MLP.
        mlp_layers (int): Linear layers per MLP (>= 1).
        mlp_act (str): Activation between MLP layers.
        mask_act (str, optional): f, after the last MLP layer. Defaults to ``"relu"``.
        gated_head (bool): Asteroid's Tanh x Sigmoid gate before the MLPs (not in the paper).
        out_chan (int, optional): Mask bins. Defaults to ``n_filters``.
        **kwargs: The other arguments of Asteroid's ``DPRNNTasNet`` (see
            :class:`~asteroid_deepmask.models.OverseparationDPRNNTasNet`).

    Defaults are the paper's configuration (Sec. 3.2). Two differ from Asteroid's ``DPRNNTasNet``:
    ``bn_chan=64`` (Asteroid: 128) and ``mask_act="relu"`` (Asteroid: ``"sigmoid"``).

    References
        Kai Li, Xiaolin Hu, Yi Luo. "On the Use of Deep Mask Estimation Module for Neural
        Source Separation Systems", Interspeech 2022. https://arxiv.org/abs/2206.07347
    """

    masker_class = DeepMaskDPRNN
    asteroid_model = "DPRNNTasNet"
    paper_defaults = ("bn_chan", "mask_act")
