"""DPTNet with the paper's mask heads (beyond the paper, which tests DPRNN only)."""
from ..masknn import DeepMaskDPTransformer, OverseparationDPTransformer
from .base import DeepMaskModel, OverseparationModel


class OverseparationDPTNet(OverseparationModel):
    """DPTNet (Asteroid's dual-path transformer layers) with overseparation-grouping.

    The head is the package's dual-path head, as in
    :class:`~asteroid_deepmask.models.OverseparationDPRNNTasNet`: P 1x1 output layers in the chunk
    domain, overlap-add, a shared bias-free 1x1 layer (no gate unless ``gated_head``), f, and
    C fixed groups. Asteroid's ``DPTNet`` head differs from it (a gate and no shared layer, and an
    overlap-add that averages), so the P = C model is a DPTNet, not Asteroid's weights' twin.

    Args:
        n_src (int): Number of sources C.
        n_outputs (int, optional): Number of mask outputs P, a multiple of ``n_src``.
        mask_act (str): f, any Asteroid activation name; ``"linear"`` for none.
        gated_head (bool): Asteroid's Tanh x Sigmoid output gate.
        out_chan (int, optional): Mask bins. Defaults to ``n_filters``.
        **kwargs: :class:`~asteroid_deepmask.masknn.DPTransformerTrunk` arguments (``n_heads=4,
            ff_hid=256, chunk_size=100, hop_size=50, n_repeats=6, norm_type="gLN",
            ff_activation="relu", bidirectional=True, dropout=0``) and filterbank ones
            (``fb_name="free", kernel_size=16, n_filters=64, stride=8, sample_rate=8000``):
            Asteroid's defaults.
    """

    masker_class = OverseparationDPTransformer


class DeepMaskDPTNet(DeepMaskModel):
    """DPTNet (Asteroid's dual-path transformer layers) with one MLP per source.

    Arguments: as :class:`OverseparationDPTNet`, with ``mlp_hidden``, ``mlp_layers``,
    ``mlp_act`` instead of ``n_outputs``.
    """

    masker_class = DeepMaskDPTransformer
