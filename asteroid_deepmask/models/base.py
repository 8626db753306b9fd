"""What every model shares: encoder/decoder construction, serialisation, loading, the two head families."""
import inspect
import os
from typing import Optional

import asteroid.models
import torch
from asteroid.models.base_models import BaseEncoderMaskerDecoder, _shape_reconstructed, _unsqueeze_to_3d
from asteroid.utils.torch_utils import jitable_shape, pad_x_to_y
from asteroid_filterbanks import make_enc_dec

from ..grouping import group_without_references
from ..version import __version__
from .loading import load_model_conf

class DeepMaskBaseModel(BaseEncoderMaskerDecoder):
    """Encoder, a masker of this package (a separator trunk and the shared mask head), decoder.

    Keyword arguments named like the masker's trunk's (e.g.
    :class:`~asteroid_deepmask.masknn.DPRNNTrunk`'s) go to the masker; the others go to
    ``asteroid_filterbanks.make_enc_dec``, as in Asteroid's TasNets.

    Every argument of the Asteroid model named by ``asteroid_model`` is accepted with the same
    meaning, and with the same default except those listed in ``paper_defaults`` (the paper's
    configuration). ``class_defaults`` are this model's defaults for arguments that pass through
    ``**kwargs``, and its ``mask_act``.
    """

    asteroid_model: str = None  # the Asteroid model whose arguments this one takes
    paper_defaults: tuple = ()  # arguments whose default is the paper's, not Asteroid's
    class_defaults: dict = {"mask_act": "relu"}

    @classmethod
    def default_arguments(cls) -> dict:
        """``{argument: default}`` for every keyword argument of the constructor: its own, the
        trunk's and the filterbank's (``None`` for ``hop_size`` means ``chunk_size // 2``)."""
        args = {}
        for klass in reversed(cls.__mro__):
            if issubclass(klass, DeepMaskBaseModel) and "__init__" in vars(klass):
                args.update({name: p.default for name, p in inspect.signature(klass.__init__).parameters.items()
                             if p.default is not inspect.Parameter.empty})  # fmt: skip
        trunk = inspect.signature(cls.masker_class.trunk_class.__init__).parameters
        args.update({name: p.default for name, p in trunk.items() if name not in ("self", "in_chan")})
        return {**args, **cls.class_defaults}

    @classmethod
    def _apply_class_defaults(cls, mask_act: Optional[str], kwargs: dict) -> str:
        for key, value in cls.class_defaults.items():
            if key != "mask_act":
                kwargs.setdefault(key, value)
        return cls.class_defaults["mask_act"] if mask_act is None else mask_act

    def __init__(
        self,
        masker_class: type,
        n_src: int,
        masker_kwargs: dict,
        in_chan: Optional[int] = None,
        fb_name: str = "free",
        kernel_size: int = 16,
        n_filters: int = 64,
        stride: int = 8,
        sample_rate: float = 8000,
        encoder_activation: Optional[str] = None,
        **kwargs,
    ):
        trunk_args = masker_class.trunk_arguments()
        trunk_kwargs = {key: kwargs.pop(key) for key in list(kwargs) if key in trunk_args}
        encoder, decoder = make_enc_dec(
            fb_name, kernel_size=kernel_size, n_filters=n_filters, stride=stride, sample_rate=sample_rate, **kwargs
        )
        n_feats = encoder.n_feats_out
        if in_chan is not None and in_chan != n_feats:
            raise ValueError(f"in_chan={in_chan} must equal the filterbank's output channels ({n_feats}).")
        masker = masker_class(n_feats, n_src, **masker_kwargs, **trunk_kwargs)
        super().__init__(encoder, masker, decoder, encoder_activation=encoder_activation)

    def forward_branches(self, wav: torch.Tensor) -> torch.Tensor:
        """Each of the head's P masks applied and decoded on its own, before grouping:
        ``(batch, n_outputs, time)`` (what dynamic grouping trains on; P = C for a deep head)."""
        wav = _unsqueeze_to_3d(wav)
        tf_rep = self.forward_encoder(wav)
        decoded = self.forward_decoder(self.apply_masks(tf_rep, self.masker.branch_masks(tf_rep)))
        return pad_x_to_y(decoded, wav)

    def serialize(self) -> dict:
        """Like Asteroid's, but with plain ``str`` versions so ``torch.load(weights_only=True)`` reads it back."""
        conf = super().serialize()
        versions = {key: str(value) for key, value in conf["infos"]["software_versions"].items()}
        versions["asteroid_deepmask_version"] = __version__
        conf["infos"]["software_versions"] = versions
        return conf

    @classmethod
    def from_pretrained(cls, pretrained_model_conf_or_path, *args, **kwargs):
        """Load a model from a ``serialize()`` dict, a local file, a URL or a Hugging Face id.

        Files are read with :func:`load_model_conf` (``weights_only=True``); the class is found
        through ``asteroid.models.get``, as with Asteroid's own models.
        """
        conf = pretrained_model_conf_or_path
        source = "the model dict"
        if isinstance(conf, (str, os.PathLike)):
            source = repr(str(conf))
            conf = load_model_conf(conf)
        try:
            asteroid.models.get(conf["model_name"])
        except ValueError:
            raise ValueError(
                f"{source} holds an unknown model_name {conf['model_name']!r}: expected one of asteroid-deepmask's "
                "or Asteroid's models (or one of a package you have imported)."
            ) from None
        try:
            if conf["model_name"] == cls.asteroid_model and hasattr(cls, "from_asteroid"):
                # An Asteroid model's file (or Hugging Face id): the same network in this class.
                asteroid_class = asteroid.models.get(cls.asteroid_model)
                return cls.from_asteroid(asteroid_class.from_pretrained(conf, *args, **kwargs))
            return super().from_pretrained(conf, *args, **kwargs)
        except RuntimeError as err:  # load_state_dict: the weights do not fit the architecture
            raise ValueError(
                f"{source}: its state_dict does not fit its model_args (a damaged or edited file?): "
                f"{str(err).splitlines()[1].strip() if len(str(err).splitlines()) > 1 else err}"
            ) from None


GROUPINGS = ("fixed", "dynamic")


class OverseparationModel(DeepMaskBaseModel):
    """A TasNet with overseparation-grouping; subclasses name the masker (the separator).

    ``grouping="fixed"`` sums the P masks in C contiguous groups (the paper). ``"dynamic"`` is for
    a model trained with :class:`~asteroid_deepmask.losses.DynamicGroupingLoss` on
    :meth:`forward_branches`: it has no fixed assignment, so its forward decodes the P branch
    estimates and groups them without references
    (:func:`~asteroid_deepmask.grouping.group_without_references`, by the similarity of
    their frame envelopes), in groups of equal size when ``equal_groups``.
    """

    masker_class: type = None

    def __init__(
        self,
        n_src: int,
        n_outputs: Optional[int] = None,
        mask_act: Optional[str] = None,
        gated_head: bool = False,
        out_chan: Optional[int] = None,
        grouping: str = "fixed",
        equal_groups: bool = True,
        **kwargs,
    ):
        if grouping not in GROUPINGS:
            raise ValueError(f"grouping must be one of {GROUPINGS}, got {grouping!r}.")
        mask_act = self._apply_class_defaults(mask_act, kwargs)
        masker_kwargs = dict(n_outputs=n_outputs, mask_act=mask_act, gated_head=gated_head, out_chan=out_chan)
        super().__init__(self.masker_class, n_src, masker_kwargs, **kwargs)
        self.grouping, self.equal_groups = grouping, equal_groups

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        if self.grouping == "fixed":
            return super().forward(wav)
        shape = jitable_shape(wav)
        sources = group_without_references(self.forward_branches(wav), self.masker.n_src, equal_size=self.equal_groups)
        return _shape_reconstructed(sources, shape)

    def get_model_args(self) -> dict:
        return {**super().get_model_args(), "grouping": self.grouping, "equal_groups": self.equal_groups}

    @classmethod
    def _convertible_args(cls, asteroid_model) -> dict:
        """The arguments of an Asteroid model that this class (P = C) computes exactly."""
        if type(asteroid_model).__name__ != cls.asteroid_model:
            raise TypeError(f"{cls.__name__}.from_asteroid takes an Asteroid {cls.asteroid_model}, got {type(asteroid_model).__name__}.")
        args = dict(asteroid_model.get_model_args())
        if args.get("mask_act") == "softmax":  # Asteroid normalises over the sources, a per-branch head cannot
            raise ValueError(f"Asteroid's {cls.asteroid_model} with mask_act='softmax' has no per-branch equivalent.")
        return args


class DeepMaskModel(DeepMaskBaseModel):
    """A TasNet with deep (per-source MLP) mask estimation; subclasses name the masker."""

    masker_class: type = None

    def __init__(
        self,
        n_src: int,
        mlp_hidden: int = 64,
        mlp_layers: int = 3,
        mlp_act: str = "tanh",
        mask_act: Optional[str] = None,
        gated_head: bool = False,
        out_chan: Optional[int] = None,
        **kwargs,
    ):
        mask_act = self._apply_class_defaults(mask_act, kwargs)
        masker_kwargs = dict(
            mlp_hidden=mlp_hidden, mlp_layers=mlp_layers, mlp_act=mlp_act, mask_act=mask_act,
            gated_head=gated_head, out_chan=out_chan,
        )  # fmt: skip
        super().__init__(self.masker_class, n_src, masker_kwargs, **kwargs)
