"""Conv-TasNet with the paper's mask heads (beyond the paper, which tests DPRNN only)."""
from ..masknn import DeepMaskTDConvNet, OverseparationTDConvNet
from .base import DeepMaskModel, OverseparationModel


class OverseparationConvTasNet(OverseparationModel):
    """Conv-TasNet (Asteroid's ``TDConvNet`` separator) with overseparation-grouping.

    P = ``n_outputs`` output layers on the TCN's features, each followed by f = ``mask_act``,
    summed in C = ``n_src`` fixed contiguous groups. With ``n_outputs == n_src`` it is
    Asteroid's ``ConvTasNet`` (same computation; :meth:`from_asteroid` takes its weights).

    Args:
        n_src (int): Number of sources C.
        n_outputs (int, optional): Number of mask outputs P, a multiple of ``n_src``.
        mask_act (str, optional): f, any Asteroid activation name; ``"linear"`` for none.
            Defaults to Asteroid's ``"sigmoid"``.
        out_chan (int, optional): Mask bins. Defaults to ``n_filters``.
        **kwargs: Every other argument of Asteroid's ``ConvTasNet``, with its meaning and default:
            :class:`~asteroid_deepmask.masknn.TDConvNetTrunk` ones (``n_blocks=8, n_repeats=3,
            bn_chan=128, hid_chan=512, skip_chan=128, conv_kernel_size=3, norm_type="gLN",
            causal=False``) and filterbank ones (``fb_name="free", kernel_size=16,
            n_filters=512, stride=8, sample_rate=8000, encoder_activation=None, in_chan``).
    """

    masker_class = OverseparationTDConvNet
    asteroid_model = "ConvTasNet"
    class_defaults = {"mask_act": "sigmoid", "n_filters": 512}

    @classmethod
    def from_asteroid(cls, conv_tasnet) -> "OverseparationConvTasNet":
        """The same network as an Asteroid ``ConvTasNet`` (P = C), with its weights;
        ``from_pretrained`` calls it on an Asteroid ``ConvTasNet`` file or Hugging Face id."""
        args = cls._convertible_args(conv_tasnet)
        model = cls(**args, n_outputs=args["n_src"])
        renamed = {}
        for key, value in conv_tasnet.state_dict().items():
            if key.startswith("masker.mask_net."):
                key = "masker.head.first_out." + key[len("masker.mask_net.") :]
            elif key.startswith("masker."):
                key = "masker.trunk." + key[len("masker.") :]
            renamed[key] = value
        model.load_state_dict(renamed)
        return model


class DeepMaskConvTasNet(DeepMaskModel):
    """Conv-TasNet (Asteroid's ``TDConvNet`` separator) with one MLP per source.

    Each source's mask is f(MLP_k(PReLU(H))) on the TCN's features H: ``mlp_layers`` layers,
    ``mlp_act`` between them. Arguments: as :class:`OverseparationConvTasNet` (Asteroid's
    ``ConvTasNet``'s, with its defaults), with ``mlp_hidden``, ``mlp_layers``, ``mlp_act``
    instead of ``n_outputs``.
    """

    masker_class = DeepMaskTDConvNet
    asteroid_model = "ConvTasNet"
    class_defaults = {"mask_act": "sigmoid", "n_filters": 512}
