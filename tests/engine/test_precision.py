"""Training precision: what precision auto picks on this machine, and what it keeps."""
import pytest
import torch

from asteroid_deepmask.engine import precision as precision_module
from asteroid_deepmask.engine.precision import resolve_precision


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


def _cpu_bf16(monkeypatch, works: bool):
    def probe(precision):
        if not works:
            raise ValueError("no bf16 here")

    monkeypatch.setattr(precision_module, "check_cpu_precision", probe)


def test_auto_precision_on_cpu_follows_the_bf16_lstm_probe(monkeypatch, no_gpu):
    _cpu_bf16(monkeypatch, works=True)
    assert resolve_precision("auto") == "bf16-mixed"
    assert resolve_precision("auto", "cpu") == "bf16-mixed"
    _cpu_bf16(monkeypatch, works=False)
    assert resolve_precision("auto") == "32-true"
    assert resolve_precision("auto", "mps") == "32-true"


def test_auto_precision_on_gpu_needs_native_bf16(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    _cpu_bf16(monkeypatch, works=False)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *a: (9, 0))  # Hopper
    assert resolve_precision("auto") == "bf16-mixed" and resolve_precision("auto", "gpu") == "bf16-mixed"
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *a: (7, 0))  # Volta: bf16 only emulated
    assert resolve_precision("auto") == "32-true"
    assert resolve_precision("auto", "cpu") == "32-true"  # the CPU asked for, whatever the GPU


def test_explicit_precisions_are_kept(no_gpu):
    for precision in ("32-true", "bf16-mixed", "16-mixed", 32):
        assert resolve_precision(precision) == precision
