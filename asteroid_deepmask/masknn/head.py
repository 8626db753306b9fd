"""The output head shared by every masker of this package.

One module covers the paper's three mask estimation modules:

- the baseline: P = C shallow output layers, each followed by f;
- overseparation-grouping (Sec. 2.2, Eq. 1-2): P > C shallow output layers,
  each followed by f, summed in C fixed groups;
- deep mask estimation (Sec. 2.1, Eq. 3): C per-source MLPs whose last layer
  is followed by f.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn
from asteroid.masknn import activations
from asteroid.utils.generic_utils import has_arg


def _n_chunks(n_frames: int, chunk_size: int, hop_size: int) -> int:
    """Chunks of :func:`chunk` for ``n_frames`` frames (padding ``chunk_size`` on both sides)."""
    return (n_frames + chunk_size) // hop_size + 1


def chunk(x: torch.Tensor, chunk_size: int, hop_size: int) -> torch.Tensor:
    """Split ``(batch, chan, frames)`` into overlapping chunks ``(batch, chan, chunk_size, n_chunks)``.

    Pads by ``chunk_size`` on both sides, exactly as Asteroid's ``DPRNN`` (``F.unfold``) does. Written
    with pads, reshapes and slices rather than ``F.unfold`` so that the same code exports to ONNX
    (which has no ``im2col`` / ``col2im`` at a dynamic length): the frames are cut into blocks of
    ``hop_size``, and chunk ``s`` is blocks ``s .. s + r - 1`` (``r = ceil(chunk_size / hop_size)``).
    """
    batch, chan, n_frames = x.shape
    n_chunks = _n_chunks(n_frames, chunk_size, hop_size)
    per_chunk = -(-chunk_size // hop_size)
    n_blocks = n_chunks + per_chunk - 1
    padded = F.pad(x, (chunk_size, n_blocks * hop_size - n_frames - chunk_size))
    blocks = padded.reshape(batch, chan, n_blocks, hop_size)
    chunks = torch.cat([blocks[:, :, j : j + n_chunks] for j in range(per_chunk)], dim=-1)
    return chunks[..., :chunk_size].transpose(2, 3)


def overlap_add(x: torch.Tensor, n_frames: int, chunk_size: int, hop_size: int) -> torch.Tensor:
    """Inverse of :func:`chunk`: ``(batch, chan, chunk_size, n_chunks)`` -> ``(batch, chan, n_frames)``.

    Overlapping chunks are summed without normalisation, as in Asteroid's ``DPRNN`` (``F.fold``;
    ``asteroid.dsp.DualPathProcessing.fold`` divides by the overlap, so it is not used). The
    ``hop_size`` blocks of each chunk are shifted into place and summed: the same sums as
    ``F.fold``, in a form that exports to ONNX.
    """
    batch, chan, _, n_chunks = x.shape
    per_chunk = -(-chunk_size // hop_size)
    n_blocks = n_chunks + per_chunk - 1
    x = F.pad(x.transpose(2, 3), (0, per_chunk * hop_size - chunk_size))  # (batch, chan, n_chunks, r * hop)
    frames = None
    for j in range(per_chunk):
        block = F.pad(x[..., j * hop_size : (j + 1) * hop_size], (0, 0, j, per_chunk - 1 - j))
        frames = block if frames is None else frames + block
    frames = frames.reshape(batch, chan, n_blocks * hop_size)
    return frames[..., chunk_size : chunk_size + n_frames]


def make_activation(name: str) -> nn.Module:
    """Instantiate an Asteroid activation by name (``"relu"``, ``"linear"``, ``"tanh"``, ...)."""
    try:
        act_class = activations.get(name)
    except ValueError:
        raise ValueError(
            f"Unknown activation {name!r}: expected a name from asteroid.masknn.activations, "
            "e.g. 'relu', 'linear', 'sigmoid', 'tanh', 'softmax', 'prelu'."
        ) from None
    if act_class is None:
        raise ValueError("Activation must be a name such as 'relu' or 'linear', got None.")
    # Softmax-like activations normalise over the channel (bin) axis, as in Asteroid's DPRNN.
    return act_class(dim=1) if has_arg(act_class, "dim") else act_class()


class PointwiseConv(nn.Module):
    """A 1x1 convolution whose weight and bias are given at call time: the fused head derives
    them from its layers. A module rather than a functional call so that profilers that hook
    modules (thop, whose rule is registered below) count its multiply-accumulates."""

    def forward(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """``(batch, in_chan, frames)``, ``(out_chan, in_chan)``, a bias broadcastable to the output."""
        return F.conv1d(x, weight.unsqueeze(-1)) + bias


class BranchMLP(nn.Module):
    """Independent MLPs, one per branch, computed together as grouped 1x1 convolutions.

    Input and output are branch-major: ``(batch, n_branches * in_chan, frames)`` ->
    ``(batch, n_branches * out_chan, frames)``. Grouped convolutions keep the branches'
    weights separate (no sharing between sources) while running as one kernel per
    layer instead of a Python loop over branches.

    Args:
        n_branches (int): Number of independent MLPs.
        in_chan (int): Input features per branch.
        hidden (int): Hidden units of each hidden layer.
        out_chan (int): Output features per branch.
        n_layers (int): Number of linear layers (>= 1). ``n_layers == 1`` is one linear layer per branch.
        hidden_act (str): Activation between layers (not after the last one).
        shared_input (bool): The input is one ``(batch, in_chan, frames)`` tensor that every
            branch reads (its first layer is then one dense 1x1 conv to all branches).
    """

    def __init__(
        self, n_branches: int, in_chan: int, hidden: int, out_chan: int, n_layers: int, hidden_act: str,
        shared_input: bool = False,
    ):  # fmt: skip
        super().__init__()
        widths = [in_chan] + [hidden] * (n_layers - 1) + [out_chan]
        layers = []
        for i, (w_in, w_out) in enumerate(zip(widths[:-1], widths[1:])):
            if i > 0:
                layers.append(make_activation(hidden_act))
            if i == 0 and shared_input:
                layers.append(nn.Conv1d(w_in, n_branches * w_out, 1))
            else:
                layers.append(nn.Conv1d(n_branches * w_in, n_branches * w_out, 1, groups=n_branches))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class MaskHead(nn.Module):
    r"""Mask estimation head of a masker: P output branches, f, and fixed grouping.

    Given the separator's chunked features :math:`\mathbf{H}`, each of the P branches computes
    an affine map of :math:`\mathbf{H}` (a slice of one 1x1 ``Conv2d`` in the chunk domain, then
    overlap-add), optionally Asteroid's Tanh x Sigmoid gate, then a frame-wise mask network:

    - shallow (``mlp_hidden=None``): one bias-free 1x1 conv shared by all branches
      (Asteroid's ``mask_net``). Composed with the branch's own ``Conv2d`` slice it is still a
      distinct affine map per branch, the :math:`\mathbf{W}_p \mathbf{H} + \mathbf{b}_p` of Eq. (1);
    - deep (``mlp_hidden=int``): an MLP of ``mlp_layers`` layers per branch, with ``mlp_act``
      between layers (Eq. 3).

    Then f (``mask_act``) on every branch, and the P masks are summed in C contiguous groups:
    branches ``[k*P/C, (k+1)*P/C)`` form source k (Eq. 2, the paper's deterministic grouping).

    With ``gated=True``, ``mlp_hidden=None`` and ``n_outputs == n_src`` this is exactly the head
    of Asteroid's ``DPRNN`` (same parameter names, same computation).

    Separators without chunks (``chunk_size=None``, e.g. Conv-TasNet's TCN) give frame features
    ``(batch, bn_chan, frames)``. There each branch is PReLU then its own affine map to the mask
    bins (shallow; with P = C exactly the output layer of Asteroid's ``TDConvNet``), or PReLU
    then its own MLP (deep); no gate.

    Args:
        bn_chan (int): Feature channels of the separator.
        out_chan (int): Mask bins (the encoder's number of filters).
        n_src (int): Number of sources C.
        chunk_size (int, optional): Chunk size used by the separator; ``None`` for frame features.
        hop_size (int, optional): Hop size used by the separator.
        n_outputs (int, optional): Number of branches P, a multiple of ``n_src``. Defaults to ``n_src``.
        mask_act (str): f, any Asteroid activation name (``"linear"`` for none).
        gated (bool): Use Asteroid's Tanh x Sigmoid output gate (not in the paper's head).
        mlp_hidden (int, optional): Hidden units of each branch's MLP; ``None`` for the shallow head.
        mlp_layers (int): Linear layers in each branch's MLP (>= 1), when ``mlp_hidden`` is set.
        mlp_act (str): Activation between MLP layers.

    References
        Kai Li, Xiaolin Hu, Yi Luo. "On the Use of Deep Mask Estimation Module for Neural
        Source Separation Systems", Interspeech 2022. https://arxiv.org/abs/2206.07347
    """

    def __init__(
        self,
        bn_chan: int,
        out_chan: int,
        n_src: int,
        chunk_size: Optional[int],
        hop_size: Optional[int],
        n_outputs: Optional[int] = None,
        mask_act: str = "relu",
        gated: bool = False,
        mlp_hidden: Optional[int] = None,
        mlp_layers: int = 3,
        mlp_act: str = "tanh",
    ):
        super().__init__()
        n_outputs = n_src if n_outputs is None else n_outputs
        if n_src < 1:
            raise ValueError(f"n_src must be >= 1, got {n_src}.")
        if n_outputs < n_src or n_outputs % n_src != 0:
            raise ValueError(
                f"n_outputs must be a positive multiple of n_src={n_src} (each source sums "
                f"n_outputs/n_src masks), got n_outputs={n_outputs}."
            )
        if mlp_hidden is not None and (mlp_layers < 1 or mlp_hidden < 1):
            raise ValueError(
                f"A mask MLP needs mlp_layers >= 1 and mlp_hidden >= 1, got "
                f"mlp_layers={mlp_layers}, mlp_hidden={mlp_hidden}."
            )
        if chunk_size is None and gated:
            raise ValueError("The gated head is a dual-path head (Asteroid's DPRNN); a separator without chunks has none.")
        self.bn_chan, self.out_chan = bn_chan, out_chan
        self.n_src, self.n_outputs = n_src, n_outputs
        self.chunk_size, self.hop_size = chunk_size, hop_size
        self.gated = gated
        self.output_act = make_activation(mask_act)
        self.fused = True
        if chunk_size is None:
            if mlp_hidden is None:
                self.first_out = nn.Sequential(nn.PReLU(), nn.Conv1d(bn_chan, n_outputs * out_chan, 1))
                self.mask_net = None
            else:
                self.first_out = nn.Sequential(nn.PReLU())
                self.mask_net = BranchMLP(n_outputs, bn_chan, mlp_hidden, out_chan, mlp_layers, mlp_act, shared_input=True)
            return

        self.first_out = nn.Sequential(nn.PReLU(), nn.Conv2d(bn_chan, n_outputs * bn_chan, 1))
        if gated:
            self.net_out = nn.Sequential(nn.Conv1d(bn_chan, bn_chan, 1), nn.Tanh())
            self.net_gate = nn.Sequential(nn.Conv1d(bn_chan, bn_chan, 1), nn.Sigmoid())
        if mlp_hidden is None:
            self.mask_net = nn.Conv1d(bn_chan, out_chan, 1, bias=False)
        else:
            self.mask_net = BranchMLP(n_outputs, bn_chan, mlp_hidden, out_chan, mlp_layers, mlp_act)
        self.fused_conv = PointwiseConv()
        # ``fused``: compute the plain dual-path head in its cheaper, equal form (see
        # _branch_masks_fused); the complexity report switches it off to count the head as the paper does.

    def forward(self, features: torch.Tensor, n_frames: int) -> torch.Tensor:
        """Chunked features ``(batch, bn_chan, chunk_size, n_chunks)`` (or frame features
        ``(batch, bn_chan, n_frames)``) -> masks ``(batch, n_src, out_chan, n_frames)``."""
        return group_masks(self.branch_masks(features, n_frames), self.n_src)

    def branch_masks(self, features: torch.Tensor, n_frames: int) -> torch.Tensor:
        """The P masks before grouping, each after f: ``(batch, n_outputs, out_chan, n_frames)``."""
        if self.chunk_size is None:
            score = self.first_out(features)
            if self.mask_net is not None:
                score = self.mask_net(score)
            batch = features.shape[0]
            return self.output_act(score.reshape(batch * self.n_outputs, self.out_chan, n_frames)).reshape(
                batch, self.n_outputs, self.out_chan, n_frames
            )
        chunks = features
        if self.fused and not self.gated:
            return self._branch_masks_fused(chunks, n_frames)
        batch, _, chunk_size, n_chunks = chunks.shape
        n_out = self.n_outputs
        x = self.first_out(chunks).reshape(batch * n_out, self.bn_chan, chunk_size, n_chunks)
        x = overlap_add(x, n_frames, self.chunk_size, self.hop_size)  # (batch * P, bn_chan, frames)
        if self.gated:
            x = self.net_out(x) * self.net_gate(x)
        if isinstance(self.mask_net, BranchMLP):
            score = self.mask_net(x.reshape(batch, n_out * self.bn_chan, n_frames))
            score = score.reshape(batch * n_out, self.out_chan, n_frames)
        else:
            score = self.mask_net(x)
        return self.output_act(score).reshape(batch, n_out, self.out_chan, n_frames)

    def _branch_masks_fused(self, chunks: torch.Tensor, n_frames: int) -> torch.Tensor:
        """The same function with less work: the 1x1 conv is linear, so it commutes with the
        overlap-add (its bias then counts once per chunk covering a frame), and a shallow head's
        bias-free mask layer folds into it. Equal up to float rounding, P times fewer frames
        through the widest layer, and one conv bn -> P*N instead of bn -> P*bn -> N per branch."""
        batch, _, chunk_size, n_chunks = chunks.shape
        n_out, bn = self.n_outputs, self.bn_chan
        prelu, conv = self.first_out
        x = overlap_add(prelu(chunks), n_frames, self.chunk_size, self.hop_size)  # (batch, bn, frames)
        ones = chunks.new_ones(1, 1, chunk_size, n_chunks)
        coverage = overlap_add(ones, n_frames, self.chunk_size, self.hop_size)  # chunks per frame
        weight, bias = conv.weight.reshape(n_out, bn, bn), conv.bias.reshape(n_out, bn)
        if isinstance(self.mask_net, BranchMLP):
            hidden = self.fused_conv(x, weight.reshape(n_out * bn, bn), bias.reshape(1, -1, 1) * coverage)
            score = self.mask_net(hidden).reshape(batch * n_out, self.out_chan, n_frames)
        else:
            mask_weight = self.mask_net.weight[..., 0]  # (out_chan, bn)
            fused_weight = torch.einsum("nb,pbc->pnc", mask_weight, weight).reshape(n_out * self.out_chan, bn)
            fused_bias = torch.einsum("nb,pb->pn", mask_weight, bias).reshape(1, -1, 1)
            score = self.fused_conv(x, fused_weight, fused_bias * coverage)
        return self.output_act(score).reshape(batch, n_out, self.out_chan, n_frames)


def group_masks(masks: torch.Tensor, n_src: int) -> torch.Tensor:
    """Sum ``(batch, P, ...)`` masks in ``n_src`` contiguous groups of ``P // n_src``: ``(batch, n_src, ...)``."""
    batch, n_out = masks.shape[:2]
    return masks.reshape(batch, n_src, n_out // n_src, *masks.shape[2:]).sum(dim=2)


# thop rules (thop.profile counts modules through the rules of its table ``register_hooks``).
def count_pointwise_conv(module: PointwiseConv, inputs, output) -> None:
    """in_chan MACs per output value, as thop counts a Conv1d (bias additions not counted)."""
    module.total_ops += output.numel() * inputs[1].shape[1]


def count_mask_head(module: MaskHead, inputs, output) -> None:
    """What the head's layers counted. thop does not look inside a module that has a rule, and
    counts its parameters whole: so the head's count includes the parameters that the fused head
    uses through derived weights (its first_out conv and mask_net do not run there). Profile a
    model, or any module that holds the head: thop adds the root module's children to its own count."""
    module.total_ops += sum(m.total_ops for m in module.modules() if m is not module and hasattr(m, "total_ops"))


def _register_thop_rules() -> None:
    from thop.profile import register_hooks

    register_hooks[PointwiseConv] = count_pointwise_conv
    register_hooks[MaskHead] = count_mask_head


_register_thop_rules()
