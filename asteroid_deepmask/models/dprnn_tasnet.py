"""DPRNN-TasNet with the paper's two mask estimation modules: overseparation-grouping and deep masks."""
from ..masknn import DeepMaskDPRNN, OverseparationDPRNN
from .base import DeepMaskModel, OverseparationModel


class OverseparationDPRNNTasNet(OverseparationModel):
    """DPRNN-TasNet whose masks are sums of ``n_outputs / n_src`` overseparated masks.

    The paper's overseparation-grouping pipeline (Sec. 2.2, Table 1): P = ``n_outputs``
    output layers, each followed by f = ``mask_act``, summed in C = ``n_src`` fixed contiguous
    groups. ``n_outputs == n_src`` is the paper's baseline.

    Args:
        n_src (int): Number of sources C.
        n_outputs (int, optional): Number of mask outputs P, a multiple of ``n_src``.
            Defaults to ``n_src`` (the baseline).
        mask_act (str, optional): f, any Asteroid activation name; ``"linear"`` for none.
            Defaults to ``"relu"``.
        gated_head (bool): Asteroid's gated output head instead of the paper's plain one. With
            ``n_outputs == n_src`` the model is then Asteroid's ``DPRNNTasNet``.
        out_chan (int, optional): Mask bins. Defaults to ``n_filters``.
        **kwargs: Every other argument of Asteroid's ``DPRNNTasNet``, with its meaning: DPRNN
            ones (``bn_chan=64, hid_size=128, chunk_size=100, hop_size=None`` (``chunk_size //
            2``), ``n_repeats=6, norm_type="gLN", bidirectional=True, rnn_type="LSTM",
            num_layers=1, dropout=0, use_mulcat=False``) and filterbank ones (``fb_name="free",
            kernel_size=16, n_filters=64, stride=8, sample_rate=8000, encoder_activation=None,
            in_chan``, and extra ``make_enc_dec`` arguments).

    Defaults are the paper's configuration (Sec. 3.2). Two differ from Asteroid's ``DPRNNTasNet``:
    ``bn_chan=64`` (Asteroid: 128) and ``mask_act="relu"`` (Asteroid: ``"sigmoid"``).

    References
        Kai Li, Xiaolin Hu, Yi Luo. "On the Use of Deep Mask Estimation Module for Neural
        Source Separation Systems", Interspeech 2022. https://arxiv.org/abs/2206.07347
    """

    masker_class = OverseparationDPRNN
    asteroid_model = "DPRNNTasNet"
    paper_defaults = ("bn_chan", "mask_act")

    @classmethod
    def from_asteroid(cls, dprnn_tasnet) -> "OverseparationDPRNNTasNet":
        """The same network as an Asteroid ``DPRNNTasNet`` (gated head, P = C), with its weights.

        Lets an Asteroid DPRNN checkpoint be loaded, evaluated or fine-tuned in this package;
        ``from_pretrained`` calls it on an Asteroid ``DPRNNTasNet`` file or Hugging Face id.
        """
        args = cls._convertible_args(dprnn_tasnet)
        model = cls(**args, n_outputs=args["n_src"], gated_head=True)
        renamed = {}
        for key, value in dprnn_tasnet.state_dict().items():
            part, _, rest = key.partition(".")
            if part == "masker":
                module = rest.split(".")[0]
                rest = ("trunk." if module in ("bottleneck", "net") else "head.") + rest
                key = f"masker.{rest}"
            renamed[key] = value
        model.load_state_dict(renamed)
        return model


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
