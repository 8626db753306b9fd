"""Model files are read with torch.load(weights_only=True); bad files get clear errors."""
import os

import numpy as np
import pytest
import torch

from asteroid_deepmask import DeepMaskDPRNNTasNet
from asteroid_deepmask.models import load_model_conf


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):  # what unpickling would run
        return (os.mkdir, (self.marker,))


@pytest.fixture
def model_file(tmp_path, small):
    path = tmp_path / "model.pth"
    torch.save(DeepMaskDPRNNTasNet(2, **small).serialize(), path)
    return path


def test_pickle_payload_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "payload-ran"
    path = tmp_path / "evil.pth"
    torch.save({"model_name": "DeepMaskDPRNNTasNet", "state_dict": {}, "model_args": _Payload(str(marker))}, path)
    with pytest.raises(ValueError, match="weights_only=True"):
        DeepMaskDPRNNTasNet.from_pretrained(str(path))
    assert not marker.exists()


def test_truncated_file_is_refused(tmp_path, model_file):
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(model_file.read_bytes()[:2000])
    with pytest.raises(ValueError, match="corrupt"):
        load_model_conf(truncated)


@pytest.mark.parametrize("seed", range(20))
def test_non_model_file_is_refused(tmp_path, seed):
    path = tmp_path / "noise.pth"
    path.write_bytes(np.random.default_rng(seed).bytes(4096))
    with pytest.raises(ValueError, match="corrupt"):
        load_model_conf(path)


def test_text_file_is_refused(tmp_path):
    path = tmp_path / "notes.pth"
    path.write_text("not a model\n" * 100)
    with pytest.raises(ValueError, match="corrupt"):
        load_model_conf(path)


def test_file_without_model_keys_names_what_is_missing(tmp_path):
    path = tmp_path / "weights.pth"
    torch.save({"state_dict": {}}, path)
    with pytest.raises(ValueError, match=r"missing \['model_name', 'model_args'\]"):
        load_model_conf(path)


def test_mistyped_local_path_is_not_sent_to_the_hub(tmp_path):
    with pytest.raises(FileNotFoundError, match="No model file"):
        DeepMaskDPRNNTasNet.from_pretrained(str(tmp_path / "missing.pth"))
    with pytest.raises(FileNotFoundError):
        load_model_conf("./exp/best_model.pth")


def test_unknown_model_name_and_mismatched_weights_are_refused(tmp_path):
    from asteroid_deepmask.models import DeepMaskBaseModel

    model = DeepMaskDPRNNTasNet(n_src=2, n_repeats=1, bn_chan=8, hid_size=8, n_filters=16)
    unknown = model.serialize()
    unknown["model_name"] = "NoSuchNet"
    torch.save(unknown, tmp_path / "unknown.pth")
    for loader in (DeepMaskBaseModel, DeepMaskDPRNNTasNet):
        with pytest.raises(ValueError, match="unknown model_name 'NoSuchNet'"):
            loader.from_pretrained(str(tmp_path / "unknown.pth"))
    edited = model.serialize()
    edited["model_args"]["hid_size"] = 16
    torch.save(edited, tmp_path / "edited.pth")
    with pytest.raises(ValueError, match="state_dict does not fit its model_args.*size mismatch"):
        DeepMaskDPRNNTasNet.from_pretrained(str(tmp_path / "edited.pth"))


def test_no_code_path_unpickles_arbitrary_objects():
    import re
    from pathlib import Path

    import asteroid_deepmask

    for path in Path(asteroid_deepmask.__file__).parent.rglob("*.py"):
        text = path.read_text()
        assert "weights_only=False" not in text, path
        for call in re.findall(r"torch\.load\([^)]*\)", text):
            assert "weights_only=True" in call, (path, call)
