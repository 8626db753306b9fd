import json

import pytest
import torch

from asteroid_deepmask.cli import main
from asteroid_deepmask.paper.tables import PAPER_ROWS, paper_complexity_table as paper_table
from asteroid_deepmask.tools.complexity import count_complexity
from asteroid_deepmask.models import make_model


@pytest.fixture(scope="module")
def table():
    return {row["name"]: row for row in paper_table()}


@pytest.mark.parametrize("row", PAPER_ROWS, ids=lambda row: row.name)
def test_paper_rows_match_within_rounding(table, row):
    ours = table[row.name]
    assert abs(ours["params_m"] - row.params_m) <= 0.05, ours
    assert abs(ours["macs_g"] - row.macs_g) <= 0.1, ours


def test_asteroids_gated_head_does_not_match_the_paper():
    """The evidence for the default head: with Asteroid's gate, P = 16 costs 0.5 GMACs more than
    the paper's 22.2 (see docs/architecture.md)."""
    gated = count_complexity(make_model("overseparation", n_outputs=16, gated_head=True))
    assert gated["macs_g"] - 22.2 > 0.4


def test_cli_counts_any_model_as_json(capsys):
    main(["complexity", "--json", "--seconds", "1", "--model", "deepmask", "mlp_hidden=16", "n_repeats=1"])
    (row,) = json.loads(capsys.readouterr().out)
    assert row["kwargs"] == {"mlp_hidden": 16, "n_repeats": 1}
    expected = count_complexity(make_model("deepmask", mlp_hidden=16, n_repeats=1), seconds=1)
    assert row["params_m"] == pytest.approx(expected["params_m"])
    assert row["macs_g"] == pytest.approx(expected["macs_g"])


def test_cli_rejects_bad_model_arguments():
    with pytest.raises(SystemExit, match="multiple of n_src"):
        main(["complexity", "--model", "overseparation", "n_outputs=3"])
    with pytest.raises(SystemExit, match="key=value"):
        main(["complexity", "--model", "deepmask", "mlp_hidden"])


def test_convtasnet_baseline_counts_as_asteroids_conv_tasnet():
    # The same network (P = C), so thop must count the same params and MACs at Asteroid's full size.
    from asteroid.models import ConvTasNet

    from asteroid_deepmask.tools.complexity import count_complexity
    from asteroid_deepmask.models import make_model

    ours, reference = count_complexity(make_model("convtasnet_baseline"), 1.0), count_complexity(ConvTasNet(2), 1.0)
    assert ours["params_m"] == pytest.approx(reference["params_m"], abs=1e-6)
    assert ours["macs_g"] == pytest.approx(reference["macs_g"], rel=1e-6)
    deep = count_complexity(make_model("convtasnet_deepmask"), 1.0)
    assert deep["params_m"] < ours["params_m"]  # MLP (L) replaces a 128 -> 2 x 512 layer


from asteroid_deepmask.masknn.head import chunk


def _thop(module, *inputs):
    import thop

    macs, params = thop.profile(module, inputs=inputs, verbose=False)
    return macs, params


class _Holder(torch.nn.Module):
    """The head inside another module, as in a model (thop adds a root module's children to its own count)."""

    def __init__(self, head):
        super().__init__()
        self.head = head

    def forward(self, features, frames):
        return self.head(features, frames)


@pytest.mark.parametrize("n_outputs", [2, 16])
def test_thop_counts_what_the_fused_shallow_head_computes(n_outputs):
    # The fused head: PReLU on the chunks, overlap-add, then one 1x1 conv bn -> P x N per frame.
    from asteroid_deepmask import OverseparationDPRNNTasNet

    model = OverseparationDPRNNTasNet(2, n_outputs=n_outputs).eval()
    head, frames = model.masker.head, 4001
    features = chunk(torch.randn(1, head.bn_chan, frames), 100, 50)  # (batch, bn, chunk_size, n_chunks)
    macs, params = _thop(_Holder(head), features, frames)
    assert macs == features.numel() + frames * n_outputs * head.out_chan * head.bn_chan  # PReLU + the conv
    assert params == sum(p.numel() for p in head.parameters())


def test_thop_counts_what_the_fused_deep_head_computes():
    # MLP (L): 1x1 conv bn -> C x bn per frame, then per source bn -> 64 -> 64 -> N.
    from asteroid_deepmask import DeepMaskDPRNNTasNet

    model = DeepMaskDPRNNTasNet(2, mlp_hidden=64).eval()
    head, frames, bn, hidden, bins = model.masker.head, 4001, 64, 64, 64
    features = chunk(torch.randn(1, bn, frames), 100, 50)
    macs, params = _thop(_Holder(head), features, frames)
    assert macs == features.numel() + frames * 2 * (bn * bn + bn * hidden + hidden * hidden + hidden * bins)
    assert params == sum(p.numel() for p in head.parameters())


def test_thop_on_a_whole_model_grows_with_p_as_the_head_does():
    from asteroid_deepmask import OverseparationDPRNNTasNet

    wav = torch.randn(1, 32000)
    (macs_2, params_2), (macs_16, params_16) = (_thop(OverseparationDPRNNTasNet(2, n_outputs=p), wav) for p in (2, 16))
    frames = (32000 - 16) // 8 + 1  # the encoder: kernel 16, stride 8, no padding
    assert macs_16 - macs_2 == (16 - 2) * frames * 64 * 64  # P x N x bn per frame
    assert params_16 - params_2 == (16 - 2) * (64 * 64 + 64)  # the P convs bn -> bn (and their biases)
