import pytest
import torch

from asteroid_deepmask.masknn import BranchMLP, DeepMaskDPRNN, MaskHead, OverseparationDPRNN, group_masks


@pytest.mark.parametrize("n_src, n_outputs", [(2, 2), (2, 8), (3, 3), (3, 12)])
def test_group_masks_sums_contiguous_groups(n_src, n_outputs):
    masks = torch.randn(4, n_outputs, 5, 7)
    grouped = group_masks(masks, n_src)
    size = n_outputs // n_src
    expected = torch.stack([masks[:, k * size : (k + 1) * size].sum(1) for k in range(n_src)], dim=1)
    assert grouped.shape == (4, n_src, 5, 7)
    torch.testing.assert_close(grouped, expected, rtol=0, atol=0)


@pytest.mark.parametrize("n_src, n_outputs", [(2, 8), (3, 6)])
def test_masker_output_is_the_group_sum_of_its_activated_branches(small, n_src, n_outputs):
    masker = OverseparationDPRNN(16, n_src, n_outputs=n_outputs, **_trunk(small))
    branches = {}
    masker.head.output_act.register_forward_hook(lambda mod, inp, out: branches.setdefault("masks", out))
    masks = masker(torch.randn(2, 16, 37))
    per_branch = branches["masks"].reshape(2, n_outputs, 16, 37)
    size = n_outputs // n_src
    for k in range(n_src):
        torch.testing.assert_close(masks[:, k], per_branch[:, k * size : (k + 1) * size].sum(1))


def _wide_and_merged(small, mask_act, n_src=2, n_outputs=8):
    """A P-output masker, and a P = C masker whose output-layer weights and biases are its group sums."""
    bn, size = small["bn_chan"], n_outputs // n_src
    wide = OverseparationDPRNN(16, n_src, n_outputs=n_outputs, mask_act=mask_act, **_trunk(small))
    merged = OverseparationDPRNN(16, n_src, n_outputs=n_src, mask_act=mask_act, **_trunk(small))
    state = wide.state_dict()
    weight, bias = state.pop("head.first_out.1.weight"), state.pop("head.first_out.1.bias")
    state["head.first_out.1.weight"] = weight.reshape(n_src, size, bn, bn, 1, 1).sum(1).reshape(n_src * bn, bn, 1, 1)
    state["head.first_out.1.bias"] = bias.reshape(n_src, size, bn).sum(1).reshape(-1)
    merged.load_state_dict(state)
    return wide, merged


@pytest.mark.parametrize("n_src, n_outputs", [(2, 8), (3, 6)])
def test_linear_masks_summed_equal_one_merged_output_layer(small, n_src, n_outputs):
    """Paper Sec. 2.2: with f(x) = x, P > C grouped outputs equal P = C outputs whose
    output-layer weights and biases are the group sums."""
    wide, merged = _wide_and_merged(small, "linear", n_src, n_outputs)
    x = torch.randn(3, 16, 41)
    torch.testing.assert_close(wide(x), merged(x), rtol=1e-5, atol=1e-5)


def test_relu_masks_are_not_one_merged_layer(small):
    """The same merge fails with f = ReLU: that is why overseparation can help (Sec. 2.2)."""
    wide, merged = _wide_and_merged(small, "relu")
    x = torch.randn(3, 16, 41)
    assert (wide(x) - merged(x)).abs().max() > 1e-3


def test_each_source_has_its_own_mlp(small):
    masker = DeepMaskDPRNN(16, 2, mlp_hidden=12, **_trunk(small))
    x = torch.randn(2, 16, 30)
    before = masker(x)
    last = masker.head.mask_net.layers[-1]
    with torch.no_grad():  # change only source 1's last layer (branch-major output channels)
        last.weight[16:] += 1.0
        last.bias[16:] += 1.0
    after = masker(x)
    torch.testing.assert_close(after[:, 0], before[:, 0], rtol=0, atol=0)
    assert (after[:, 1] - before[:, 1]).abs().max() > 1e-3


def test_mlp_layers_and_activations_follow_the_paper():
    mlp = BranchMLP(n_branches=2, in_chan=64, hidden=64, out_chan=64, n_layers=3, hidden_act="tanh")
    kinds = [type(layer).__name__ for layer in mlp.layers]
    assert kinds == ["Conv1d", "Tanh", "Conv1d", "Tanh", "Conv1d"]
    assert [layer.groups for layer in mlp.layers if hasattr(layer, "groups")] == [2, 2, 2]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(n_outputs=3), "multiple of n_src=2"),
        (dict(n_outputs=1), "multiple of n_src=2"),
        (dict(mlp_hidden=16, mlp_layers=0), "mlp_layers >= 1"),
        (dict(mask_act="relux"), "Unknown activation 'relux'"),
        (dict(mlp_hidden=16, mlp_act="tan"), "Unknown activation 'tan'"),
    ],
)
def test_bad_head_arguments_are_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MaskHead(8, 16, 2, chunk_size=10, hop_size=5, **kwargs)


def _trunk(small):
    return {k: small[k] for k in ("bn_chan", "hid_size", "chunk_size", "hop_size", "n_repeats")}


@pytest.mark.parametrize("kwargs", [{"n_outputs": 8}, {"n_outputs": 6, "mask_act": "linear"}, {"mlp_hidden": 16}, {"mlp_hidden": 8, "mlp_layers": 1}])
def test_fused_head_computes_the_papers_head_up_to_rounding(kwargs):
    """The fast path (overlap-add before the linear layers, mask layer folded in) equals the
    head as written in the paper, on the forward pass and the gradients."""
    torch.manual_seed(0)
    head = MaskHead(bn_chan=8, out_chan=12, n_src=2, chunk_size=10, hop_size=5, **kwargs)
    chunks = torch.randn(3, 8, 10, 10, requires_grad=True)  # 37 frames in chunks of 10, hop 5
    fused = head(chunks, 37)
    grad_fused = torch.autograd.grad(fused.square().sum(), chunks)[0]
    head.fused = False
    reference = head(chunks, 37)
    grad_reference = torch.autograd.grad(reference.square().sum(), chunks)[0]
    torch.testing.assert_close(fused, reference, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(grad_fused, grad_reference, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("chunk_size, hop_size", [(100, 50), (20, 10), (7, 3), (10, 10), (5, 1), (4, 2)])
@pytest.mark.parametrize("n_frames", [1, 3, 17, 250])
def test_chunk_and_overlap_add_equal_asteroids_unfold_and_fold(chunk_size, hop_size, n_frames):
    """The exportable chunking (pads, reshapes, slices) is Asteroid's DPRNN's F.unfold / F.fold."""
    from asteroid_deepmask.masknn.head import chunk, overlap_add

    x = torch.randn(2, 3, n_frames)
    expected = torch.nn.functional.unfold(x.unsqueeze(-1), (chunk_size, 1), padding=(chunk_size, 0), stride=(hop_size, 1))
    chunks = chunk(x, chunk_size, hop_size)
    torch.testing.assert_close(chunks, expected.reshape(2, 3, chunk_size, -1), rtol=0, atol=0)
    y = torch.randn_like(chunks)
    folded = torch.nn.functional.fold(
        y.reshape(2, 3 * chunk_size, -1), (n_frames, 1), (chunk_size, 1), padding=(chunk_size, 0), stride=(hop_size, 1)
    )
    torch.testing.assert_close(overlap_add(y, n_frames, chunk_size, hop_size), folded.reshape(2, 3, n_frames))
