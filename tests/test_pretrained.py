"""The models shipped with the package."""
import numpy as np
import soundfile as sf
import torch

from asteroid_deepmask import DeepMaskDPRNNTasNet
from asteroid_deepmask.data import generate_split
from asteroid_deepmask.models import shipped_models
from asteroid_deepmask.recipes.evaluate import utterance_metrics

NAME = "deepmask-demo-2src"
# On the 200 test mixtures its SI-SDRi was 9.5 dB on average, with a 4.0 dB standard deviation
# across utterances (model card). The four held-out mixtures below (test-split speakers, never
# heard in training) gave 10.4 dB. The threshold is the mean minus two standard errors of a
# four-utterance mean (9.5 - 2 x 4.0 / 2 = 5.5, rounded down): far above an unseparated output
# (0 dB), so a broken model, head or loader fails it.
THRESHOLD_DB = 5.0


def test_shipped_model_is_a_plain_weights_only_file_with_a_card():
    path = shipped_models()[NAME]
    conf = torch.load(path, weights_only=True)
    assert conf["model_name"] == "DeepMaskDPRNNTasNet" and conf["model_args"]["mlp_hidden"] == 64
    assert path.stat().st_size < 20 * 2**20
    assert "SI-SDRi" in path.with_suffix(".md").read_text()


def test_shipped_model_separates_held_out_mixtures(tmp_path):
    model = DeepMaskDPRNNTasNet.from_pretrained(NAME).eval()
    # The corpus seed of the shipped model is 0: its test speakers are unseen in training.
    directory = generate_split(tmp_path, 2, "tt", 4, seed=0, workers=2)

    scores = []
    for mix_path in sorted((directory / "mix").iterdir()):
        mixture, _ = sf.read(mix_path, dtype="float32")
        sources = np.stack([sf.read(directory / f"s{k}" / mix_path.name, dtype="float32")[0] for k in (1, 2)])
        with torch.inference_mode():
            estimates = model(torch.from_numpy(mixture)[None])[0].numpy()
        scores.append(utterance_metrics(mixture, sources, estimates)["si_sdri"])
    assert np.mean(scores) >= THRESHOLD_DB, scores
