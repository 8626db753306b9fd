"""Conv-TasNet maskers: Asteroid's ``TDConvNet`` (reused whole) followed by a :class:`MaskHead`."""
from asteroid.masknn.convolutional import TDConvNet
from torch import nn

from .maskers import DeepMaskMasker, OverseparationMasker


class TDConvNetTrunk(TDConvNet):
    """Asteroid's ``TDConvNet`` (Conv-TasNet's TCN) without its output layer.

    Its features are the sum of the blocks' skip connections (the residual output when
    ``skip_chan`` is 0), ``(batch, feature_chan, frames)``. Asteroid's own forward runs
    unchanged: its output layer and mask nonlinearity are identities here, so it returns them.
    Parameter names match ``asteroid.masknn.TDConvNet`` (``bottleneck``, ``TCN``); defaults
    are Asteroid's (the Conv-TasNet paper's).
    """

    chunk_size = None  # frame features: the head needs no overlap-add
    hop_size = None

    def __init__(
        self,
        in_chan: int,
        n_blocks: int = 8,
        n_repeats: int = 3,
        bn_chan: int = 128,
        hid_chan: int = 512,
        skip_chan: int = 128,
        conv_kernel_size: int = 3,
        norm_type: str = "gLN",
        causal: bool = False,
    ):
        feature_chan = skip_chan or bn_chan
        super().__init__(
            in_chan, n_src=1, out_chan=feature_chan, n_blocks=n_blocks, n_repeats=n_repeats, bn_chan=bn_chan,
            hid_chan=hid_chan, skip_chan=skip_chan, conv_kernel_size=conv_kernel_size, norm_type=norm_type,
            mask_act="linear", causal=causal,
        )  # fmt: skip
        self.mask_net = nn.Identity()

    @property
    def feature_chan(self) -> int:
        return self.skip_chan or self.bn_chan

    def forward(self, mixture_w):
        """``(batch, in_chan, frames)`` -> ``(batch, feature_chan, frames)``."""
        return super().forward(mixture_w)[:, 0]

    def get_config(self) -> dict:
        return {
            "in_chan": self.in_chan,
            "n_blocks": self.n_blocks,
            "n_repeats": self.n_repeats,
            "bn_chan": self.bn_chan,
            "hid_chan": self.hid_chan,
            "skip_chan": self.skip_chan,
            "conv_kernel_size": self.conv_kernel_size,
            "norm_type": self.norm_type,
            "causal": self.causal,
        }


class OverseparationTDConvNet(OverseparationMasker):
    """Conv-TasNet masker with overseparation-grouping: :class:`TDConvNetTrunk` and P output
    layers (with P = C, Asteroid's ``TDConvNet``). Arguments: :class:`OverseparationMasker`'s,
    and :class:`TDConvNetTrunk`'s as keywords."""

    trunk_class = TDConvNetTrunk


class DeepMaskTDConvNet(DeepMaskMasker):
    """Conv-TasNet masker with deep mask estimation: :class:`TDConvNetTrunk` and one MLP per
    source. Arguments: :class:`DeepMaskMasker`'s, and :class:`TDConvNetTrunk`'s as keywords."""

    trunk_class = TDConvNetTrunk
