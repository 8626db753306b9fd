"""DPTNet with the paper's mask heads (beyond the paper, which tests DPRNN only)."""
import torch

from ..masknn import DeepMaskDPTransformer, OverseparationDPTransformer
from .base import DeepMaskModel, OverseparationModel


class OverseparationDPTNet(OverseparationModel):
    """DPTNet (Asteroid's dual-path transformer layers) with overseparation-grouping.

    The head is the package's dual-path head, as in
    :class:`~asteroid_deepmask.models.OverseparationDPRNNTasNet`: P 1x1 output layers in the chunk
    domain, overlap-add, a shared bias-free 1x1 layer (no gate unless ``gated_head``), f, and
    C fixed groups. Asteroid's ``DPTNet`` head is the gated one with the shared layer an identity
    and an overlap-add divided by ``chunk_size / hop_size``: :meth:`from_asteroid` converts its
    weights into that form, with the same output.

    Args:
        n_src (int): Number of sources C.
        n_outputs (int, optional): Number of mask outputs P, a multiple of ``n_src``.
        mask_act (str, optional): f, any Asteroid activation name; ``"linear"`` for none.
            Defaults to ``"relu"`` (Asteroid's).
        gated_head (bool): Asteroid's Tanh x Sigmoid output gate.
        out_chan (int, optional): Mask bins. Defaults to ``n_filters``.
        **kwargs: Every other argument of Asteroid's ``DPTNet``, with its meaning and default:
            :class:`~asteroid_deepmask.masknn.DPTransformerTrunk` ones (``n_heads=4,
            ff_hid=256, chunk_size=100, hop_size=None`` (``chunk_size // 2``), ``n_repeats=6,
            norm_type="gLN", ff_activation="relu", bidirectional=True, dropout=0``) and
            filterbank ones (``fb_name="free", kernel_size=16, n_filters=64, stride=8,
            sample_rate=8000, encoder_activation="relu", in_chan``).
    """

    masker_class = OverseparationDPTransformer
    asteroid_model = "DPTNet"
    class_defaults = {"mask_act": "relu", "encoder_activation": "relu"}

    @classmethod
    def from_asteroid(cls, dptnet) -> "OverseparationDPTNet":
        """The same network as an Asteroid ``DPTNet`` (gated head, P = C), with its weights;
        ``from_pretrained`` calls it on an Asteroid ``DPTNet`` file or Hugging Face id."""
        args = cls._convertible_args(dptnet)
        if args["in_chan"] % args["n_heads"]:
            raise ValueError(
                f"Asteroid's DPTNet with in_chan={args['in_chan']} not a multiple of n_heads={args['n_heads']} maps "
                "its widened features back to in_chan in its output layer; this head keeps them: no exact conversion."
            )
        model = cls(**args, n_outputs=args["n_src"], gated_head=True)
        # Asteroid's overlap-add divides by chunk_size / hop_size; the head's sums, so the (linear)
        # output layer before it is scaled instead.
        scale = float(model.masker.trunk.hop_size) / model.masker.trunk.chunk_size
        renamed = {}
        for key, value in dptnet.state_dict().items():
            if key.startswith("masker."):
                rest = key[len("masker.") :]
                part = "trunk" if rest.startswith(("input_layer", "in_norm", "layers")) else "head"
                if rest.startswith("first_out.1."):
                    value = value * scale
                key = f"masker.{part}.{rest}"
            renamed[key] = value
        chan = model.masker.head.out_chan
        renamed["masker.head.mask_net.weight"] = torch.eye(chan).unsqueeze(-1)  # Asteroid's head has no such layer
        model.load_state_dict(renamed)
        return model


class DeepMaskDPTNet(DeepMaskModel):
    """DPTNet (Asteroid's dual-path transformer layers) with one MLP per source.

    Arguments: as :class:`OverseparationDPTNet` (Asteroid's ``DPTNet``'s, with its defaults),
    with ``mlp_hidden``, ``mlp_layers``, ``mlp_act`` instead of ``n_outputs``.
    """

    masker_class = DeepMaskDPTransformer
    asteroid_model = "DPTNet"
    class_defaults = {"mask_act": "relu", "encoder_activation": "relu"}
