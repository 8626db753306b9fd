"""The models shipped with the package."""
import os
import re
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

import pytest

from asteroid_deepmask import DeepMaskDPRNNTasNet, OverseparationDPRNNTasNet
from asteroid_deepmask.data.prep.synthetic import generate_split
from asteroid_deepmask.models import shipped_models
from asteroid_deepmask.engine.evaluate import utterance_metrics

# name: (class, constructor arguments that make it what its card says)
SHIPPED = {
    "deepmask-demo-2src": (DeepMaskDPRNNTasNet, {"n_src": 2, "mlp_hidden": 64, "mlp_layers": 3}),
    "baseline-demo-2src": (OverseparationDPRNNTasNet, {"n_src": 2, "n_outputs": 2}),
    "deepmask-voices-2src": (DeepMaskDPRNNTasNet, {"n_src": 2, "mlp_hidden": 64, "mlp_layers": 3}),
    "baseline-voices-2src": (OverseparationDPRNNTasNet, {"n_src": 2, "n_outputs": 2}),
}
TTS_MODELS = sorted(name for name in SHIPPED if "-demo-" in name)
VOICES_MODELS = sorted(name for name in SHIPPED if "-voices-" in name)
ROOT = Path(__file__).resolve().parents[2]
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


@pytest.mark.parametrize("name", TTS_MODELS)
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


def _card_si_sdri(name) -> float:
    card = (ROOT / "asteroid_deepmask" / "pretrained" / f"{name}.md").read_text()
    return float(re.search(r"\| SI-SDRi \(dB\) \|.*\n\|[-|]+\n\| ([-\d.]+) \|", card).group(1))


@pytest.mark.parametrize("name", VOICES_MODELS)
def test_voices_model_card_states_its_corpus_licences_and_real_speaker_metrics(name):
    card = (ROOT / "asteroid_deepmask" / "pretrained" / f"{name}.md").read_text()
    assert "license: other" in card and "GPL-2" in card  # the training audio's licences, and what they mean
    for section in ("## Corpus (speakers and minutes per split and package)", "## Licences of the training audio",
                    "Per package of the test speakers", "## Command", "train_time_s"):
        assert section in card, section
    assert "synthetic" in card and "-demo-2src" in card  # the TTS test set, and the old models on the real one
    assert _card_si_sdri(name) > 0


# The real test set is recorded speech from Debian packages: tests do not download it. Build it
# with `egs/voices/run.sh --stop_stage 2` (or point ASTEROID_DEEPMASK_VOICES_TT at the json
# folder of its tt mixtures) and run `pytest -m slow -k voices_model`.
VOICES_TT = Path(os.environ.get("ASTEROID_DEEPMASK_VOICES_TT", ROOT / "egs/voices/data/2speakers/tt"))


@pytest.mark.slow
@pytest.mark.parametrize("name", VOICES_MODELS)
def test_voices_model_reproduces_its_card_on_the_held_out_real_speakers(name, tmp_path):
    from asteroid_deepmask.engine.evaluate import evaluate

    if not (VOICES_TT / "mix.json").is_file():
        pytest.skip(f"no real-voices test set at {VOICES_TT} (egs/voices/run.sh --stop_stage 2 makes it)")
    metrics = evaluate(shipped_models()[name], VOICES_TT, tmp_path, n_src=2, n_examples=0, device="cpu", workers=2)
    assert metrics["si_sdri"] == pytest.approx(_card_si_sdri(name), abs=0.05)


def test_shipped_models_give_the_outputs_they_gave_before_the_redesign():
    """reference/shipped_outputs.pt: each shipped model's output on a fixed input, computed by the
    package as it was before its layout changed (issue 18, commit ac7e64b): a file saved then loads now
    as the same network with the same weights."""
    from asteroid_deepmask.models import DeepMaskBaseModel

    reference = torch.load(Path(__file__).parent / "reference" / "shipped_outputs.pt", weights_only=True)
    assert set(reference) - {"input"} == set(SHIPPED)
    for name in SHIPPED:
        with torch.no_grad():
            output = DeepMaskBaseModel.from_pretrained(name).eval()(reference["input"])
        torch.testing.assert_close(output, reference[name], rtol=1e-4, atol=1e-5, msg=name)
