"""Export to ONNX and TorchScript: one graph with dynamic batch and length, and the metadata a
runtime needs (sample rate, number of sources, the model's arguments, the package version).

The models' chunking and overlap-add are written with pads, reshapes and slices
(:mod:`asteroid_deepmask.masknn.head`), so they export as they run. Two things do not, and are
handled here: torch's ``nn.MultiheadAttention`` (DPTNet) traces its reshapes with the export
input's sizes baked in, so an equal module that reshapes with ``-1`` replaces it in the exported
copy; and dynamic grouping searches a labelling per input, which no ONNX graph can express, so
it is refused.
"""
import copy
import io
import json
import logging
import tempfile
import warnings
from pathlib import Path
from typing import Dict, Union

import torch
from torch import nn

from ..data.io import atomic_path
from ..version import __version__

FORMATS = ("onnx", "torchscript")
OPSET = 17  # ONNX Runtime >= 1.14; every op the models use exists there
INPUT, OUTPUT = "mixture", "sources"  # (batch, time) -> (batch, n_src, time)
# ONNX Runtime's int8: the LSTMs and matrix products (DynamicQuantizeLSTM, MatMulInteger). The 1x1
# convolutions, encoder and decoder stay fp32: quantising them costs more accuracy than it saves time.
ORT_INT8_OPS = ("LSTM", "MatMul", "Gemm")
EXPORT_SECONDS = 2.0  # length of the example input traced at export; other lengths run too
ONNX_INSTALL = "pip install 'asteroid-deepmask[onnx]'"


def require(module: str):
    """Import one of the ``[onnx]`` extra's packages (onnx, onnxruntime), or say how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"ONNX export and the onnxruntime backend need {module}: {ONNX_INSTALL}.") from None


class ExportError(ValueError):
    """A model that cannot be exported; the message says why and what to do instead."""


class SelfAttention(nn.Module):
    """``nn.MultiheadAttention(x, x, x)[0]`` without masks, in eval mode (no dropout), with the
    same weights: its reshapes use ``-1`` so that batch and length stay dynamic in the graph."""

    def __init__(self, mha: nn.MultiheadAttention):
        super().__init__()
        if not mha._qkv_same_embed_dim or mha.bias_k is not None or mha.add_zero_attn or mha.batch_first:
            raise ExportError("Only plain self-attention (Asteroid's DPTNet layers) is exported.")
        self.num_heads, self.head_dim = mha.num_heads, mha.head_dim
        self.in_proj_weight, self.in_proj_bias, self.out_proj = mha.in_proj_weight, mha.in_proj_bias, mha.out_proj

    def forward(self, query: torch.Tensor, key=None, value=None):
        """``(seq, batch, embed)`` -> ``((seq, batch, embed), None)``, as the module it replaces."""
        seq = query.shape[0]
        q, k, v = nn.functional.linear(query, self.in_proj_weight, self.in_proj_bias).chunk(3, dim=-1)
        q, k, v = (t.reshape(seq, -1, self.head_dim).transpose(0, 1) for t in (q, k, v))  # (batch * heads, seq, dim)
        attention = torch.softmax(q @ k.transpose(1, 2) / self.head_dim**0.5, dim=-1)
        out = (attention @ v).transpose(0, 1).reshape(seq, -1, self.num_heads * self.head_dim)
        return self.out_proj(out), None


def exportable_copy(model: nn.Module) -> nn.Module:
    """An eval-mode copy of ``model`` that computes the same function and exports; an
    :class:`ExportError` for a model that cannot be."""
    if getattr(model, "grouping", "fixed") == "dynamic":
        raise ExportError(
            "This overseparation model uses dynamic grouping: at inference it searches, per input, which of "
            "its P outputs belong together, a discrete search that an ONNX or TorchScript graph cannot express. "
            "Run it with the torch backend, or export a model trained with fixed grouping."
        )
    model = copy.deepcopy(model).eval()
    for module in list(model.modules()):
        for name, child in module.named_children():
            if isinstance(child, nn.MultiheadAttention):
                setattr(module, name, SelfAttention(child))
    return model


def model_metadata(model: nn.Module) -> Dict[str, str]:
    """What a runtime needs to use the exported file, as strings (ONNX metadata is str -> str)."""
    return {
        "producer": "asteroid-deepmask",
        "asteroid_deepmask_version": __version__,
        "model_name": type(model).__name__,
        "model_args": json.dumps(model.get_model_args(), sort_keys=True),
        "sample_rate": str(int(model.sample_rate)),
        "n_src": str(int(model.masker.n_src)),
        "min_samples": str(int(model.encoder.filterbank.kernel_size)),  # shorter input has no frame
        "input": f"{INPUT}: float32 (batch, time) at sample_rate",
        "output": f"{OUTPUT}: float32 (batch, n_src, time)",
        "opset": str(OPSET),
    }


def _example_input(model: nn.Module) -> torch.Tensor:
    return torch.randn(1, int(EXPORT_SECONDS * model.sample_rate), generator=torch.Generator().manual_seed(0))


def onnx_bytes(model: nn.Module) -> bytes:
    """The model as an ONNX file in memory (opset :data:`OPSET`, dynamic batch and length, metadata)."""
    onnx = require("onnx")
    exportable = exportable_copy(model)
    buffer = io.BytesIO()
    # The exporter's notes (its deprecation, Slice constant folding, LSTM batch sizes: the models pass
    # no sequence lengths) say nothing about this model; the tests check the graph against eager torch.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", module=r"torch\.(onnx|jit)")
        warnings.filterwarnings("ignore", message=".*legacy TorchScript-based ONNX export")
        torch.onnx.export(
            exportable, (_example_input(model),), buffer, input_names=[INPUT], output_names=[OUTPUT],
            dynamic_axes={INPUT: {0: "batch", 1: "time"}, OUTPUT: {0: "batch", 2: "time"}},
            opset_version=OPSET, dynamo=False,  # the TorchScript exporter: dynamo cannot trace Asteroid's gLN at a dynamic length
        )  # fmt: skip
    proto = onnx.load_from_string(buffer.getvalue())
    onnx.helper.set_model_props(proto, model_metadata(model))
    onnx.checker.check_model(proto)
    return proto.SerializeToString()


def quantize_onnx(model: bytes) -> bytes:
    """ONNX Runtime's int8 dynamic quantisation of an exported model's :data:`ORT_INT8_OPS`."""
    onnx = require("onnx")
    require("onnxruntime")
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        source.write_bytes(model)
        root = logging.getLogger()
        root.addFilter(_quantizer_notes)
        try:
            quantize_dynamic(source, target, op_types_to_quantize=list(ORT_INT8_OPS), weight_type=QuantType.QInt8)
        finally:
            root.removeFilter(_quantizer_notes)
        proto = onnx.load(str(target))
    metadata = {p.key: p.value for p in onnx.load_from_string(model).metadata_props}
    onnx.helper.set_model_props(proto, {**metadata, "precision": "int8"})
    return proto.SerializeToString()


def _quantizer_notes(record: logging.LogRecord) -> bool:
    """Drop what onnxruntime.quantization logs to the root logger: a line per tensor at INFO, and the
    advice to pre-process (shape inference, which dynamic quantisation does not need)."""
    from_quantizer = "onnxruntime" in record.pathname
    return not (from_quantizer and (record.levelno < logging.WARNING or "pre-processing" in record.getMessage()))


def torchscript_module(model: nn.Module) -> torch.jit.ScriptModule:
    """The model traced to TorchScript (for libtorch / C++); batch and length stay free."""
    with torch.no_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"torch\.jit")
        return torch.jit.trace(exportable_copy(model), (_example_input(model),), check_trace=False)


def export_model(model: nn.Module, path: Union[str, Path], format: str = "onnx", int8: bool = False) -> Path:
    """Write ``model`` to ``path`` as ONNX (metadata in the file's metadata_props; ``int8``: quantised
    with :func:`quantize_onnx`) or TorchScript (metadata in the archive's ``extra/metadata.json``).
    Written whole or not at all."""
    if format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {format!r}.")
    if int8 and format != "onnx":
        raise ValueError("int8 export is ONNX Runtime's quantisation: use format='onnx' (TorchScript is exported in fp32).")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if format == "onnx":
        data = quantize_onnx(onnx_bytes(model)) if int8 else onnx_bytes(model)
        with atomic_path(path) as partial:
            Path(partial).write_bytes(data)
    else:
        traced = torchscript_module(model)
        metadata = {**model_metadata(model), "opset": ""}
        with atomic_path(path) as partial:
            torch.jit.save(traced, str(partial), _extra_files={"metadata.json": json.dumps(metadata)})
    return path
