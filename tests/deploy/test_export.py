"""Export: every model class to ONNX, matching eager torch at batches and lengths not seen at export;
TorchScript; the metadata; the refusal of dynamic grouping; a file that runs with only
onnxruntime and numpy."""
import json
import subprocess
import sys
import textwrap

import numpy as np
import onnx
import pytest
import torch

from asteroid_deepmask import OverseparationDPRNNTasNet
from asteroid_deepmask.deploy import OPSET, ExportError, OnnxRuntimeSeparator, TorchSeparator, export_model
from asteroid_deepmask.deploy.backends import output_snr
from asteroid_deepmask.deploy.export import EXPORT_SECONDS
from asteroid_deepmask.version import __version__
from fakes import MODELS, small

# Export traces (1, 2 s); these differ in both batch and length, and are not multiples of the stride.
SHAPES = [(3, 6173), (1, 23001)]


@pytest.mark.parametrize("model_class", MODELS)
def test_onnx_matches_eager_torch_for_every_model_class(model_class, tmp_path):
    model = small(model_class).eval()
    path = export_model(model, tmp_path / "model.onnx")
    separator = OnnxRuntimeSeparator(path)
    for shape in SHAPES:
        assert shape != (1, int(EXPORT_SECONDS * model.sample_rate))
        mixture = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        estimate = separator(mixture)
        reference = TorchSeparator(model)(mixture)
        assert estimate.shape == reference.shape == (shape[0], 2, shape[1])
        assert output_snr(reference, estimate) >= 60, (shape, output_snr(reference, estimate))


def test_onnx_metadata_rebuilds_the_model(tmp_path):
    model = small(OverseparationDPRNNTasNet).eval()
    proto = onnx.load(str(export_model(model, tmp_path / "m.onnx")))
    metadata = {p.key: p.value for p in proto.metadata_props}
    assert [o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")] == [OPSET]
    assert metadata["asteroid_deepmask_version"] == __version__
    assert (metadata["sample_rate"], metadata["n_src"], metadata["model_name"]) == ("8000", "2", "OverseparationDPRNNTasNet")
    rebuilt = OverseparationDPRNNTasNet(**json.loads(metadata["model_args"]))
    assert rebuilt.get_model_args() == model.get_model_args()


def test_torchscript_matches_eager_torch_at_other_lengths(tmp_path):
    model = small(OverseparationDPRNNTasNet).eval()
    path = export_model(model, tmp_path / "m.pt", format="torchscript")
    traced = torch.jit.load(str(path))
    for shape in SHAPES:
        mixture = torch.randn(*shape)
        with torch.no_grad():
            assert output_snr(model(mixture).numpy(), traced(mixture).numpy()) >= 60


def test_dynamic_grouping_is_refused_with_the_reason(tmp_path):
    model = small(OverseparationDPRNNTasNet, grouping="dynamic")
    for format in ("onnx", "torchscript"):
        with pytest.raises(ExportError, match="dynamic grouping.*discrete search"):
            export_model(model, tmp_path / f"m.{format}", format=format)
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_exported_file_runs_with_only_onnxruntime_and_numpy(tmp_path):
    """A fresh process in which torch and this package cannot be imported reads the metadata and
    separates, giving what eager torch gives."""
    model = small(OverseparationDPRNNTasNet).eval()
    path = export_model(model, tmp_path / "m.onnx")
    mixture = np.random.default_rng(1).standard_normal((2, 5000)).astype(np.float32)
    np.save(tmp_path / "mixture.npy", mixture)
    script = textwrap.dedent(f"""
        import sys
        class Block:  # torch, asteroid and this package are not there
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("torch", "asteroid", "asteroid_deepmask", "asteroid_filterbanks"):
                    raise ImportError("blocked: " + name)
        sys.meta_path.insert(0, Block())
        import numpy as np, onnxruntime as ort
        session = ort.InferenceSession({str(path)!r}, providers=["CPUExecutionProvider"])
        meta = session.get_modelmeta().custom_metadata_map
        out = session.run(None, {{"mixture": np.load({str(tmp_path / "mixture.npy")!r})}})[0]
        np.save({str(tmp_path / "out.npy")!r}, out)
        print(meta["sample_rate"], meta["n_src"], "torch" in sys.modules)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["8000", "2", "False"]
    assert output_snr(TorchSeparator(model)(mixture), np.load(tmp_path / "out.npy")) >= 60
