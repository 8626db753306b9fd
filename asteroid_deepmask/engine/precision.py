"""Training precision: what this machine can autocast to, and what ``precision: auto`` means here."""
import torch

from ..runtime import cpu_autocast_error

# The benchmarks' precisions: fp32, and autocast to bf16 / fp16 as Lightning's "bf16-mixed" / "16-mixed".
AUTOCAST_DTYPES = {"32": None, "bf16": torch.bfloat16, "16": torch.float16}
MIXED_PRECISIONS = {"bf16-mixed": "bf16", "16-mixed": "16"}  # Lightning's names -> the short ones


def check_cpu_precision(precision: str) -> None:
    """Refuse mixed precision on a CPU that cannot autocast the LSTMs.

    Lightning's bf16/16-mixed autocasts the LSTMs, which oneDNN refuses with an obscure error in the
    first step on CPUs without bf16/fp16 instructions; say so before training starts instead.
    """
    dtype = AUTOCAST_DTYPES.get(MIXED_PRECISIONS.get(str(precision), str(precision)))
    if dtype is None:
        return
    error = cpu_autocast_error(dtype, backward=True)
    if error is not None:
        raise ValueError(
            f"Precision {precision!r} on CPU: this CPU cannot run the LSTMs in {dtype} ({error}). "
            "Use precision 32-true on CPU; mixed precision is meant for GPUs (bf16-mixed on Ampere or newer)."
        ) from None


def resolve_precision(precision="auto", accelerator="auto") -> str:
    """Lightning's precision for the conf's ``training.precision``; ``"auto"`` picks one for this machine.

    ``"auto"``: ``bf16-mixed`` on a CUDA GPU with native bf16 (compute capability 8, Ampere, or
    newer) or, on CPU, where :func:`check_cpu_precision` finds that the LSTMs run in bf16;
    ``32-true`` otherwise (older GPUs, other accelerators). ``accelerator`` is the conf's
    (``auto``, ``gpu``/``cuda``, ``cpu``, ...): ``auto`` means the GPU when there is one, as
    Lightning chooses. Any other precision is returned unchanged.
    """
    if str(precision) != "auto":
        return precision
    accelerator = str(accelerator or "auto")
    if accelerator in ("auto", "gpu", "cuda") and torch.cuda.is_available():
        # Capability, not torch.cuda.is_bf16_supported(), which also says yes to emulated (slow) bf16.
        return "bf16-mixed" if torch.cuda.get_device_capability()[0] >= 8 else "32-true"
    if accelerator in ("auto", "cpu"):
        try:
            check_cpu_precision("bf16-mixed")
        except ValueError:
            return "32-true"
        return "bf16-mixed"
    return "32-true"
