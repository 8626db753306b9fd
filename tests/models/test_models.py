import subprocess
import sys
import textwrap

import pytest
import torch
from asteroid.models import BaseModel, DPRNNTasNet

import asteroid_deepmask
from asteroid_deepmask import (
    DeepMaskConvTasNet, DeepMaskDPRNNTasNet, DeepMaskDPTNet, OverseparationConvTasNet, OverseparationDPRNNTasNet,
    OverseparationDPTNet,
)  # fmt: skip
from conftest import SMALL_CONVTASNET, SMALL_DPTNET

MODEL_CONFIGS = [
    pytest.param(OverseparationDPRNNTasNet, dict(n_outputs=2), id="baseline"),
    pytest.param(OverseparationDPRNNTasNet, dict(n_outputs=8), id="overseparation-P8"),
    pytest.param(OverseparationDPRNNTasNet, dict(n_outputs=4, gated_head=True, mask_act="linear"), id="gated-linear"),
    pytest.param(DeepMaskDPRNNTasNet, dict(mlp_hidden=12), id="deepmask"),
    pytest.param(DeepMaskDPRNNTasNet, dict(mlp_hidden=12, mlp_layers=1, gated_head=True), id="deepmask-1layer-gated"),
    pytest.param(OverseparationDPRNNTasNet, dict(n_outputs=4, grouping="dynamic"), id="dynamic-grouping"),
    pytest.param(OverseparationConvTasNet, dict(n_outputs=8, **SMALL_CONVTASNET), id="convtasnet-P8"),
    pytest.param(DeepMaskConvTasNet, dict(mlp_hidden=12, **SMALL_CONVTASNET), id="convtasnet-deepmask"),
    pytest.param(OverseparationDPTNet, dict(n_outputs=4, **SMALL_DPTNET), id="dptnet-P4"),
    pytest.param(DeepMaskDPTNet, dict(mlp_hidden=12, **SMALL_DPTNET), id="dptnet-deepmask"),
]


def build(model_class, kwargs, small):
    """The model with the DPRNN test size, or the size its params carry (other separators)."""
    return model_class(2, **{**(small if model_class.masker_class.trunk_class.__name__ == "DPRNNTrunk" else {}), **kwargs})


@pytest.mark.parametrize("n_src", [2, 3])
def test_gated_head_with_p_equal_c_is_asteroids_dprnn_tasnet(small, n_src):
    reference = DPRNNTasNet(n_src, mask_act="relu", **small).eval()
    ours = OverseparationDPRNNTasNet(n_src, n_outputs=n_src, gated_head=True, **small).eval()
    # Same weights, loaded by name (ours keeps Asteroid's module names under trunk/head).
    ours.load_state_dict(OverseparationDPRNNTasNet.from_asteroid(reference).state_dict())
    wav = torch.randn(2, 1003)
    torch.testing.assert_close(ours(wav), reference(wav), rtol=1e-5, atol=1e-5)


def test_plain_head_differs_from_asteroids_gated_head(small):
    reference = DPRNNTasNet(2, mask_act="relu", **small)
    ours = OverseparationDPRNNTasNet(2, gated_head=False, **small)
    missing, unexpected = ours.load_state_dict(
        OverseparationDPRNNTasNet.from_asteroid(reference).state_dict(), strict=False
    )
    assert not missing and sorted(unexpected) == [
        "masker.head.net_gate.0.bias",
        "masker.head.net_gate.0.weight",
        "masker.head.net_out.0.bias",
        "masker.head.net_out.0.weight",
    ]


def test_defaults_are_the_papers_configuration():
    args = DeepMaskDPRNNTasNet(2).get_model_args()
    expected = dict(
        n_filters=64, kernel_size=16, stride=8, bn_chan=64, hid_size=128, chunk_size=100, hop_size=50,
        n_repeats=6, sample_rate=8000, bidirectional=True, rnn_type="LSTM", mask_act="relu",
        mlp_hidden=64, mlp_layers=3, mlp_act="tanh", gated_head=False,
    )
    assert {key: args[key] for key in expected} == expected
    assert OverseparationDPRNNTasNet(2).get_model_args()["n_outputs"] == 2


@pytest.mark.parametrize("model_class, kwargs", MODEL_CONFIGS)
@pytest.mark.parametrize(
    "shape, expected",
    [((1001,), (2, 1001)), ((1, 1001), (1, 2, 1001)), ((3, 997), (3, 2, 997)), ((3, 1, 998), (3, 2, 998))],
)
def test_output_shapes(small, model_class, kwargs, shape, expected):
    model = build(model_class, kwargs, small)
    assert model(torch.randn(*shape)).shape == expected


@pytest.mark.parametrize("model_class, kwargs", MODEL_CONFIGS)
def test_gradients_reach_every_parameter(small, model_class, kwargs):
    model = build(model_class, kwargs, small)
    model(torch.randn(2, 800)).pow(2).mean().backward()
    no_grad = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    if model_class.masker_class.trunk_class.__name__ == "TDConvNetTrunk":
        # As in Asteroid's ConvTasNet: the masks read the skip sum, so the last block's residual is unused.
        last = len(model.masker.trunk.TCN) - 1
        no_grad = [name for name in no_grad if not name.startswith(f"masker.trunk.TCN.{last}.res_conv.")]
    assert not no_grad


@pytest.mark.parametrize("model_class, kwargs", MODEL_CONFIGS)
def test_serialize_writes_plain_types_and_round_trips(tmp_path, small, model_class, kwargs):
    model = build(model_class, kwargs, small).eval()
    path = tmp_path / "model.pth"
    torch.save(model.serialize(), path)
    conf = torch.load(path, weights_only=True)  # fails on TorchVersion or numpy objects
    assert all(isinstance(v, str) for v in conf["infos"]["software_versions"].values())
    for loader in (BaseModel.from_pretrained, model_class.from_pretrained):
        loaded = loader(str(path)).eval()
        assert type(loaded) is model_class
        wav = torch.randn(2, 900)
        torch.testing.assert_close(loaded(wav), model(wav), rtol=0, atol=0)


def test_from_pretrained_in_a_fresh_process(tmp_path, small):
    model = DeepMaskDPRNNTasNet(2, mlp_hidden=12, **small).eval()
    wav = torch.randn(1, 1200)
    torch.save(model.serialize(), tmp_path / "model.pth")
    torch.save(wav, tmp_path / "wav.pt")
    script = textwrap.dedent(
        f"""
        import torch
        import asteroid_deepmask  # only the plugin import: it registers the models
        from asteroid.models import BaseModel
        model = BaseModel.from_pretrained({str(tmp_path / "model.pth")!r}).eval()
        with torch.no_grad():
            torch.save(model(torch.load({str(tmp_path / "wav.pt")!r})), {str(tmp_path / "out.pt")!r})
        print(type(model).__name__)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "DeepMaskDPRNNTasNet"
    with torch.no_grad():
        torch.testing.assert_close(torch.load(tmp_path / "out.pt"), model(wav), rtol=0, atol=0)


@pytest.mark.parametrize("n_src", [2, 3])
def test_convtasnet_with_p_equal_c_is_asteroids_conv_tasnet(n_src):
    from asteroid.models import ConvTasNet

    reference = ConvTasNet(n_src, mask_act="relu", **SMALL_CONVTASNET).eval()
    ours = OverseparationConvTasNet.from_asteroid(reference).eval()
    assert type(ours) is OverseparationConvTasNet and ours.masker.n_outputs == n_src
    wav = torch.randn(2, 1003)
    torch.testing.assert_close(ours(wav), reference(wav), rtol=1e-5, atol=1e-5)


def test_dptnet_trunk_is_asteroids_dual_path_transformer():
    # Asteroid's DPTransformer up to its output layer, with the same weights (loaded by name).
    from asteroid.masknn import DPTransformer

    from asteroid_deepmask.masknn import DPTransformerTrunk

    kwargs = dict(n_heads=2, ff_hid=8, chunk_size=10, hop_size=5, n_repeats=2)
    for in_chan in (16, 15):  # 15: not a multiple of n_heads, so both add an input projection
        reference = DPTransformer(in_chan, n_src=2, **kwargs).eval()
        trunk = DPTransformerTrunk(in_chan, **kwargs).eval()
        missing, unexpected = trunk.load_state_dict(reference.state_dict(), strict=False)
        assert not missing and all(k.startswith(("first_out", "net_out", "net_gate")) for k in unexpected)
        captured = {}
        reference.first_out.register_forward_hook(lambda module, args, out: captured.update(features=args[0]))
        x = torch.randn(2, in_chan, 57)
        with torch.no_grad():
            reference(x)
            torch.testing.assert_close(trunk(x), captured["features"])


def test_models_of_every_separator_have_both_heads_by_alias():
    from asteroid_deepmask.models import make_model

    for separator, size in (("convtasnet_", SMALL_CONVTASNET), ("dptnet_", SMALL_DPTNET)):
        assert make_model(separator + "baseline", **size).masker.n_outputs == 2
        assert make_model(separator + "overseparation", n_outputs=6, **size).masker.n_outputs == 6
        assert make_model(separator + "deepmask", mlp_hidden=4, **size).masker.mlp_hidden == 4
        with pytest.raises(ValueError, match="n_outputs == n_src"):
            make_model(separator + "baseline", n_outputs=4, **size)
    with pytest.raises(ValueError, match="dual-path head"):
        OverseparationConvTasNet(2, gated_head=True, **SMALL_CONVTASNET)


def test_registration_is_idempotent_and_guards_the_names():
    # In a subprocess: reloading replaces the classes, which would confuse the other tests.
    script = textwrap.dedent(
        """
        import importlib
        import asteroid.models
        import asteroid_deepmask, asteroid_deepmask.models.registry as models
        import asteroid_deepmask  # a second import is a no-op
        importlib.reload(models)
        importlib.reload(asteroid_deepmask)
        assert asteroid.models.get("DeepMaskDPRNNTasNet") is models.DeepMaskDPRNNTasNet
        impostor = type("DeepMaskDPRNNTasNet", (), {"__module__": "somewhere.else"})
        try:
            models._register(impostor)
        except ValueError as err:
            assert "already has a DeepMaskDPRNNTasNet" in str(err)
        else:
            raise AssertionError("a foreign class took the name")
        print("ok")
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


def test_separate_api_works(tmp_path, small):
    """Asteroid's ``model.separate`` (tensor in, tensor out) works on our models."""
    model = DeepMaskDPRNNTasNet(2, **small).eval()
    est = model.separate(torch.randn(1, 1, 1600))
    assert est.shape == (1, 2, 1600)


def test_package_exports_version():
    assert asteroid_deepmask.__version__


def test_fixed_grouping_is_the_sum_of_the_decoded_branches(small):
    # The decoder is linear, so summing decoded branches in contiguous groups is the model's output.
    model = OverseparationDPRNNTasNet(2, n_outputs=8, **small).eval()
    wav = torch.randn(2, 1001)
    with torch.no_grad():
        branches = model.forward_branches(wav)
        assert branches.shape == (2, 8, 1001)
        torch.testing.assert_close(branches.reshape(2, 2, 4, -1).sum(2), model(wav), rtol=1e-4, atol=1e-5)


def test_dynamic_grouping_model_groups_its_branches_without_references(small):
    from asteroid_deepmask.grouping import group_without_references

    model = OverseparationDPRNNTasNet(2, n_outputs=4, grouping="dynamic", **small).eval()
    wav = torch.randn(2, 900)
    with torch.no_grad():
        torch.testing.assert_close(model(wav), group_without_references(model.forward_branches(wav), 2))
    assert model.get_model_args()["grouping"] == "dynamic"
    with pytest.raises(ValueError, match="grouping must be one of"):
        OverseparationDPRNNTasNet(2, n_outputs=4, grouping="learned", **small)
