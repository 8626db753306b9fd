"""Drop-in parity with Asteroid: its constructor arguments, the checks of Asteroid's own model
tests (tests/models/models_test.py, rewritten here for our six models), and its model files."""
import inspect
import warnings

import numpy as np
import pytest
import soundfile as sf
import torch
from asteroid.models import ConvTasNet, DPRNNTasNet, DPTNet, get

from asteroid_deepmask import (
    DeepMaskConvTasNet, DeepMaskDPRNNTasNet, DeepMaskDPTNet, OverseparationConvTasNet, OverseparationDPRNNTasNet,
    OverseparationDPTNet,
)  # fmt: skip

from fakes import HEADS, MODELS, SMALL, small

CONVERTIBLE = [pytest.param(cls, id=cls.__name__) for cls in (OverseparationDPRNNTasNet, OverseparationConvTasNet, OverseparationDPTNet)]
ASTEROID = {"DPRNNTasNet": DPRNNTasNet, "ConvTasNet": ConvTasNet, "DPTNet": DPTNet}
def asteroid_defaults(asteroid_class) -> dict:
    parameters = inspect.signature(asteroid_class.__init__).parameters.items()
    return {name: p.default for name, p in parameters if name not in ("self", "n_src") and p.kind is p.POSITIONAL_OR_KEYWORD}


@pytest.mark.parametrize("model_class", MODELS)
def test_constructor_takes_every_argument_of_its_asteroid_model_with_asteroids_defaults(model_class):
    # Compared with Asteroid's signature as installed: a new Asteroid argument fails this test.
    theirs = asteroid_defaults(ASTEROID[model_class.asteroid_model])
    ours = model_class.default_arguments()
    assert not set(theirs) - set(ours), f"not accepted: {sorted(set(theirs) - set(ours))}"
    differing = {name for name in theirs if ours[name] != theirs[name]}
    assert differing == set(model_class.paper_defaults)
    for name in model_class.paper_defaults:  # each deviation is documented where users look
        assert f"``{name}=" in inspect.getdoc(model_class), name


@pytest.mark.parametrize("model_class", MODELS)
def test_the_same_arguments_mean_what_they_mean_to_asteroid(model_class):
    asteroid_class = ASTEROID[model_class.asteroid_model]
    varied = {  # every argument off its default, where the model allows it
        "DPRNNTasNet": dict(bn_chan=24, hid_size=8, chunk_size=20, n_repeats=2, norm_type="cLN", bidirectional=False,
                            rnn_type="GRU", num_layers=2, dropout=0.1, use_mulcat=True, in_chan=32, out_chan=32),
        "ConvTasNet": dict(n_blocks=2, n_repeats=2, bn_chan=16, hid_chan=8, skip_chan=12, conv_kernel_size=5,
                           norm_type="cLN", causal=True, in_chan=32, out_chan=32),
        "DPTNet": dict(n_heads=2, ff_hid=10, chunk_size=6, n_repeats=2, norm_type="cLN", ff_activation="gelu",
                       bidirectional=False, dropout=0.1, in_chan=32),
    }[model_class.asteroid_model]
    common = dict(fb_name="analytic_free", kernel_size=12, n_filters=32, stride=6, sample_rate=16000,
                  encoder_activation="relu", mask_act="sigmoid", **varied)  # fmt: skip
    reference = asteroid_class(2, **common).get_model_args()
    ours = model_class(2, **common).get_model_args()
    assert {key: ours[key] for key in reference} == reference


@pytest.mark.parametrize("model_class", [DeepMaskDPRNNTasNet, OverseparationDPRNNTasNet])
def test_hop_size_none_is_half_the_chunk_as_in_asteroid(model_class):
    # Asteroid's DPRNNTasNet(n_src=2, chunk_size=20) works; ours used to raise (hop 50 > chunk 20).
    model = model_class(n_src=2, chunk_size=20)
    assert model.get_model_args()["hop_size"] == DPRNNTasNet(n_src=2, chunk_size=20).get_model_args()["hop_size"] == 10
    assert model_class(n_src=2).get_model_args()["hop_size"] == 50  # the paper's, for chunks of 100


@pytest.mark.parametrize("model_class", MODELS)
@pytest.mark.parametrize("fb", ["free", "stft", "analytic_free", "param_sinc"])
@pytest.mark.parametrize("sample_rate", [8000.0, 16000.0])
def test_save_and_load_like_asteroids_models(model_class, fb, sample_rate):
    """Asteroid's ``_default_test_model``: serialize, from_pretrained, with and without sample_rate."""
    model = small(model_class, fb_name=fb, sample_rate=sample_rate).eval()
    wav = torch.randn(1, 801)
    conf = model.serialize()
    reconstructed = model_class.from_pretrained(conf).eval()
    torch.testing.assert_close(model(wav), reconstructed(wav))
    sample_rate = conf["model_args"].pop("sample_rate")
    model_class.from_pretrained(conf)  # without: the class default
    assert model_class.from_pretrained(conf, sample_rate=sample_rate).sample_rate == model.sample_rate


@pytest.mark.parametrize("model_class", MODELS)
def test_separate_on_tensors_arrays_and_files_like_asteroids_models(model_class, tmp_path):
    model = small(model_class).eval()
    assert isinstance(model.separate(torch.rand(1, 800)), torch.Tensor)
    wav = np.random.randn(1, 800).astype("float32")
    assert isinstance(model.separate(wav), np.ndarray)
    path = tmp_path / "mixture.wav"
    sf.write(path, wav[0], 8000)
    model.separate(str(path))
    assert (tmp_path / "mixture_est1.wav").is_file() and (tmp_path / "mixture_est2.wav").is_file()
    with pytest.warns(UserWarning):  # the estimates exist: Asteroid warns before overwriting
        model.separate(str(path))
    sf.write(path, wav[0], 16000)
    with pytest.raises(RuntimeError):  # not the model's rate
        model.separate(str(path), force_overwrite=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.separate(str(path), force_overwrite=True, resample=True)
    assert sf.info(tmp_path / "mixture_est1.wav").samplerate == 16000


@pytest.mark.parametrize("model_class", MODELS)
def test_asteroid_models_get_finds_it(model_class):
    assert get(model_class.__name__) is model_class


@pytest.mark.parametrize("model_class", MODELS)
def test_torchscript_trace_matches_eager_on_other_lengths_and_batches(model_class):
    model = small(model_class).eval()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        traced = torch.jit.trace(model, torch.randn(1, 800))
        for shape in [(1, 800), (2, 1203), (3, 640)]:
            x = torch.randn(*shape)
            torch.testing.assert_close(traced(x), model(x))


@pytest.mark.parametrize("model_class", CONVERTIBLE)
def test_an_asteroid_model_file_loads_into_our_class_with_identical_outputs(model_class, tmp_path):
    asteroid_class = ASTEROID[model_class.asteroid_model]
    reference = asteroid_class(2, mask_act="relu", **SMALL[model_class.asteroid_model]).eval()
    path = tmp_path / "asteroid.pth"
    torch.save(reference.serialize(), path)  # Asteroid's own serialize(), torch version object included
    ours = model_class.from_pretrained(str(path)).eval()
    assert type(ours) is model_class and ours.masker.n_outputs == 2
    wav = torch.randn(2, 1003)
    with torch.no_grad():
        torch.testing.assert_close(ours(wav), reference(wav), rtol=1e-5, atol=1e-5)
    # A P = C model of ours, serialized, loads back as ours with the same outputs.
    again = model_class.from_pretrained(ours.serialize()).eval()
    with torch.no_grad():
        torch.testing.assert_close(again(wav), ours(wav))


@pytest.mark.parametrize("model_class", CONVERTIBLE)
def test_a_hugging_face_id_of_an_asteroid_model_loads_the_same_way(model_class, tmp_path, monkeypatch):
    import huggingface_hub

    reference = ASTEROID[model_class.asteroid_model](2, **SMALL[model_class.asteroid_model]).eval()
    torch.save(reference.serialize(), tmp_path / "pytorch_model.bin")
    asked = {}

    def fake_download(repo_id, filename, **kwargs):  # the Hub, served from a folder
        asked.update(repo_id=repo_id, filename=filename)
        return str(tmp_path / filename)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    ours = model_class.from_pretrained("someone/asteroid-model").eval()
    assert asked["repo_id"] == "someone/asteroid-model" and type(ours) is model_class
    wav = torch.randn(1, 803)
    with torch.no_grad():
        torch.testing.assert_close(ours(wav), reference(wav), rtol=1e-5, atol=1e-5)


def test_asteroid_models_that_have_no_exact_equivalent_are_refused_with_the_reason():
    with pytest.raises(ValueError, match="softmax"):
        OverseparationConvTasNet.from_asteroid(ConvTasNet(2, mask_act="softmax", **SMALL["ConvTasNet"]))
    with pytest.raises(ValueError, match="n_heads"):
        OverseparationDPTNet.from_asteroid(DPTNet(2, n_heads=4, n_filters=30, **SMALL["DPTNet"]))
    with pytest.raises(TypeError, match="takes an Asteroid DPTNet"):
        OverseparationDPTNet.from_asteroid(DPRNNTasNet(2, **SMALL["DPRNNTasNet"]))
