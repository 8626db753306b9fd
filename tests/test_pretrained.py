"""The models shipped with the package."""
import numpy as np
import soundfile as sf
import torch

import pytest

from asteroid_deepmask import DeepMaskDPRNNTasNet, OverseparationDPRNNTasNet
from asteroid_deepmask.data import generate_split
from asteroid_deepmask.models import shipped_models
from asteroid_deepmask.recipes.evaluate import utterance_metrics

# name: (class, constructor arguments that make it what its card says)
SHIPPED = {
    "deepmask-demo-2src": (DeepMaskDPRNNTasNet, {"n_src": 2, "mlp_hidden": 64, "mlp_layers": 3}),
    "baseline-demo-2src": (OverseparationDPRNNTasNet, {"n_src": 2, "n_outputs": 2}),
}
# On their 200 test mixtures both averaged 11.6 dB SI-SDRi, with a standard deviation of 4.1 and
# 4.5 dB across utterances (model cards). On the four held-out mixtures below (test-split
# speakers, never heard in training) they gave 11.5 (DeepMask) and 11.4 dB (baseline). The threshold is the mean minus
# two standard errors of a four-utterance mean (11.6 - 2 x 4.5 / 2 = 7.1, rounded down): far
# above an unseparated output (0 dB), so a broken model, head or loader fails it.
THRESHOLD_DB = 7.0


def test_every_shipped_model_is_tested():
    assert set(shipped_models()) == set(SHIPPED)


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_model_is_a_plain_weights_only_file_with_a_card(name):
    path = shipped_models()[name]
    conf = torch.load(path, weights_only=True)
    model_class, args = SHIPPED[name]
    assert conf["model_name"] == model_class.__name__
    assert {key: conf["model_args"][key] for key in args} == args
    assert path.stat().st_size < 20 * 2**20
    assert "SI-SDRi" in path.with_suffix(".md").read_text()


@pytest.fixture(scope="module")
def held_out_split(tmp_path_factory):
    # The corpus seed of the shipped models is 0: its test speakers are unseen in training.
    return generate_split(tmp_path_factory.mktemp("tt"), 2, "tt", 4, seed=0, workers=2)


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_model_separates_held_out_mixtures(name, held_out_split):
    model_class, _ = SHIPPED[name]
    model = model_class.from_pretrained(name).eval()
    directory = held_out_split

    scores = []
    for mix_path in sorted((directory / "mix").iterdir()):
        mixture, _ = sf.read(mix_path, dtype="float32")
        sources = np.stack([sf.read(directory / f"s{k}" / mix_path.name, dtype="float32")[0] for k in (1, 2)])
        with torch.inference_mode():
            estimates = model(torch.from_numpy(mixture)[None])[0].numpy()
        scores.append(utterance_metrics(mixture, sources, estimates)["si_sdri"])
    assert np.mean(scores) >= THRESHOLD_DB, scores
