"""Runtime backends for inference: a model ready to run, in eager torch (fp32, bf16 autocast, int8
dynamic quantisation) or in ONNX Runtime (fp32, int8 dynamic quantisation).

Every backend is a :class:`Separator`: float32 ``(batch, time)`` numpy in, ``(batch, n_src, time)``
out, with the ``sample_rate``, ``n_src`` and ``min_samples`` that :mod:`asteroid_deepmask.inference`
needs to stream files through it.
"""
import copy
import os
import warnings
from contextlib import nullcontext
from pathlib import Path
from typing import Dict, Optional, Union

import numpy as np
import torch
from torch import nn

from ..runtime import cpu_autocast_error
from .export import INPUT, onnx_bytes, quantize_onnx, require

BACKENDS = ("torch", "onnxruntime")
PRECISIONS = ("fp32", "bf16", "int8")


class PrecisionError(ValueError):
    """A precision this machine or backend cannot run; the message says what can."""


class Separator:
    """A model ready to run: float32 ``(batch, time)`` -> ``(batch, n_src, time)``, numpy in and out."""

    backend: str
    precision: str
    sample_rate: int
    n_src: int
    min_samples: int  # the encoder's kernel: shorter input has no frame

    def __call__(self, mixture: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(backend={self.backend!r}, precision={self.precision!r}, sample_rate={self.sample_rate}, n_src={self.n_src})"


def _check_precision(precision: str) -> None:
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}.")


def quantize_torch(model: nn.Module) -> nn.Module:
    """int8 dynamic quantisation (weights int8, activations quantised per call) of a copy's LSTM and
    Linear layers, as ``torch.ao.quantization.quantize_dynamic`` does; CPU only."""
    with warnings.catch_warnings():  # torch.ao.quantization's deprecation (torchao replaces it; still in torch 2.14)
        warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*torch.ao.quantization")
        warnings.filterwarnings("ignore", module=r"torch\.ao")  # its notes on quantised tensor creation
        quantized = torch.ao.quantization.quantize_dynamic(copy.deepcopy(model).cpu().eval(), {nn.LSTM, nn.Linear}, dtype=torch.qint8)
    lstms = [m for m in quantized.modules() if isinstance(m, torch.ao.nn.quantized.dynamic.LSTM)]
    linears = [m for m in quantized.modules() if isinstance(m, torch.ao.nn.quantized.dynamic.Linear)]
    if not lstms and not linears:
        raise PrecisionError(
            f"{type(model).__name__} has no LSTM or Linear layers, the layers torch's int8 dynamic quantisation "
            "covers (its layers are convolutions): use precision fp32, or the onnxruntime backend."
        )
    for lstm in lstms:  # Asteroid's SingleRNN calls flatten_parameters(), which the quantised LSTM lacks
        lstm.flatten_parameters = _no_op
    return quantized


def _no_op() -> None:
    return None


class TorchSeparator(Separator):
    """Eager torch: ``fp32``; ``bf16`` autocast (refused, with the reason, on a CPU whose oneDNN
    cannot run bf16 LSTMs); ``int8`` dynamic quantisation of the LSTM and Linear layers (CPU)."""

    backend = "torch"

    def __init__(self, model: nn.Module, precision: str = "fp32", device: Union[str, torch.device] = "cpu"):
        _check_precision(precision)
        self.device = torch.device(device)
        self.precision = precision
        self.sample_rate = int(model.sample_rate)
        self.n_src = int(model.masker.n_src)
        self.min_samples = int(model.encoder.filterbank.kernel_size)
        if precision == "int8":
            if self.device.type != "cpu":
                raise PrecisionError(f"int8 dynamic quantisation runs on the CPU, not on {self.device}: use device cpu.")
            model = quantize_torch(model)
        elif precision == "bf16" and self.device.type == "cpu":
            error = cpu_autocast_error(torch.bfloat16)
            if error is not None:
                raise PrecisionError(
                    f"precision bf16: this CPU cannot run the models' LSTMs in bfloat16 ({error}); it needs bf16 "
                    "instructions (e.g. AVX-512 BF16 or AMX). Use precision fp32, or int8."
                )
        self.model = model.eval().to(self.device)

    def __call__(self, mixture: np.ndarray) -> np.ndarray:
        autocast = torch.autocast(self.device.type, dtype=torch.bfloat16) if self.precision == "bf16" else nullcontext()
        with torch.inference_mode(), autocast:
            sources = self.model(torch.from_numpy(np.ascontiguousarray(mixture, dtype=np.float32)).to(self.device))
        return sources.float().cpu().numpy()


def onnx_metadata(session, source: str) -> Dict[str, str]:
    """The exported file's metadata, or a ValueError for a file this package did not export."""
    metadata = session.get_modelmeta().custom_metadata_map
    missing = [key for key in ("sample_rate", "n_src", "min_samples") if key not in metadata]
    inputs = [i.name for i in session.get_inputs()]
    if metadata.get("producer") != "asteroid-deepmask" or missing or inputs != [INPUT]:
        raise ValueError(
            f"{source} is an ONNX model, but not one exported by asteroid-deepmask (expected the metadata "
            f"producer=asteroid-deepmask, sample_rate, n_src and min_samples, and one input {INPUT!r}; found "
            f"metadata keys {sorted(metadata)} and inputs {inputs}): export it with `asteroid-deepmask export`."
        )
    return metadata


class OnnxRuntimeSeparator(Separator):
    """ONNX Runtime on the CPU: an exported file (or its bytes) in ``fp32``, or quantised to ``int8``
    when loaded (or already quantised at export)."""

    backend = "onnxruntime"

    def __init__(self, model: Union[str, Path, bytes], precision: str = "fp32", threads: int = 0):
        _check_precision(precision)
        ort = require("onnxruntime")
        source = "the exported model" if isinstance(model, bytes) else str(model)
        if isinstance(model, bytes):
            data = model
        else:
            if not Path(model).is_file():
                raise FileNotFoundError(f"{model}: no such ONNX file (expected one written by `asteroid-deepmask export`).")
            data = Path(model).read_bytes()
        if precision == "bf16":
            raise PrecisionError("ONNX Runtime runs these models in fp32 or int8 on the CPU; bf16 is the torch backend's (autocast).")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or len(os.sched_getaffinity(0))
        options.log_severity_level = 3  # errors only: its warnings about unused initialisers are noise
        session = self._session(ort, data, options, source)
        metadata = onnx_metadata(session, source)
        if precision == "int8" and metadata.get("precision") != "int8":
            session = self._session(ort, quantize_onnx(data), options, source)
        elif precision == "fp32" and metadata.get("precision") == "int8":
            raise PrecisionError(f"{source} is quantised to int8: run it with precision int8.")
        self.session, self.metadata, self.precision = session, metadata, precision
        self.sample_rate, self.n_src = int(metadata["sample_rate"]), int(metadata["n_src"])
        self.min_samples = int(metadata["min_samples"])

    @staticmethod
    def _session(ort, data: bytes, options, source: str):
        try:
            return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        except Exception as err:  # onnxruntime's InvalidProtobuf, Fail, ... share no public base class
            raise ValueError(
                f"{source} is not an ONNX model ONNX Runtime can load ({type(err).__name__}: {str(err).splitlines()[0][:200]}); "
                "expected a file written by `asteroid-deepmask export --format onnx`."
            ) from None

    def __call__(self, mixture: np.ndarray) -> np.ndarray:
        return self.session.run(None, {INPUT: np.ascontiguousarray(mixture, dtype=np.float32)})[0]


def load_separator(model, backend: Optional[str] = None, precision: Optional[str] = None, device="cpu") -> Separator:
    """A :class:`Separator` for ``model``: a model object, a shipped name, a model file, a URL, a
    Hugging Face id, an exported ``.onnx`` file (onnxruntime backend), or a Separator (returned as is).
    ``backend`` and ``precision`` default to torch and fp32, or to the given Separator's own."""
    if isinstance(model, Separator):
        if (backend or model.backend, precision or model.precision) != (model.backend, model.precision):
            raise ValueError(f"{model!r} was asked to run as backend={backend!r}, precision={precision!r}.")
        return model
    backend, precision = backend or "torch", precision or "fp32"
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}.")
    _check_precision(precision)
    if isinstance(model, (str, os.PathLike)) and str(model).endswith(".onnx"):
        if backend != "onnxruntime":
            raise ValueError(f"{model} is an ONNX file: run it with the onnxruntime backend.")
        return OnnxRuntimeSeparator(model, precision)
    if isinstance(model, (str, os.PathLike)):
        from ..models import DeepMaskBaseModel

        model = DeepMaskBaseModel.from_pretrained(model)
    if backend == "torch":
        return TorchSeparator(model, precision, device)
    if torch.device(device).type != "cpu":
        raise ValueError(f"The onnxruntime backend runs on the CPU here, not on {device}: use device cpu, or the torch backend.")
    return OnnxRuntimeSeparator(onnx_bytes(model), precision)


def output_snr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """How close ``estimate`` is to ``reference``: ``10 log10(sum(ref^2) / sum((ref - est)^2))``, in dB."""
    error = float(np.sum((np.asarray(reference, np.float64) - estimate) ** 2))
    return float("inf") if error == 0 else 10 * np.log10(float(np.sum(np.asarray(reference, np.float64) ** 2)) / error)


def verify_export(model: nn.Module, path, format: str, precision: str = "fp32", seconds: float = 3.3, batch: int = 2) -> dict:
    """Run an exported file (ONNX in ``precision``: ``int8`` for a quantised one) on a random input of
    another length and batch than the export's, and compare with eager torch fp32:
    ``{"format", "input_shape", "snr_db"}``."""
    rng = np.random.default_rng(0)
    mixture = rng.standard_normal((batch, int(seconds * model.sample_rate))).astype(np.float32)
    reference = TorchSeparator(model)(mixture)
    if format == "onnx":
        estimate = OnnxRuntimeSeparator(path, precision)(mixture)
    else:
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=FutureWarning, module=r"torch\.jit")  # its deprecation
            estimate = torch.jit.load(str(path))(torch.from_numpy(mixture)).numpy()
    return {"format": format, "input_shape": list(mixture.shape), "snr_db": output_snr(reference, estimate)}
