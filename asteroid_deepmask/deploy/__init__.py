"""Deployment on CPU: export to ONNX / TorchScript (:mod:`.export`) and the runtime backends that
inference runs on (:mod:`.backends`: torch fp32 / bf16 / int8, ONNX Runtime fp32 / int8).

ONNX Runtime is the optional extra ``pip install 'asteroid-deepmask[onnx]'``; nothing here needs it
until an ONNX file is written or run.
"""
from .backends import BACKENDS, PRECISIONS, OnnxRuntimeSeparator, PrecisionError, Separator, TorchSeparator, load_separator
from .export import FORMATS, OPSET, ExportError, export_model

__all__ = [
    "BACKENDS", "PRECISIONS", "FORMATS", "OPSET", "Separator", "TorchSeparator", "OnnxRuntimeSeparator",
    "PrecisionError", "ExportError", "export_model", "load_separator",
]  # fmt: skip
