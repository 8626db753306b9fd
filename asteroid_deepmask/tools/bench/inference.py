"""CPU inference: time and peak memory of Asteroid's DPRNNTasNet and ours, one pass and chunked ``separate``.

Prints nothing, asserts nothing: ``asteroid-deepmask benchmark --inference`` prints the table.
"""
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from ...models import make_model
from ...runtime import proc_status_kb
from .training import time_training_step

# ---------------------------------------------------------------------------------------------
# Inference. Times are taken in one process with the models interleaved round by round, so that
# the machine's drift (frequency, neighbours) falls on all of them alike; peak memory (max RSS)
# is taken in a fresh process per case, so that it is that case's own.
# ---------------------------------------------------------------------------------------------
INFERENCE_MODELS = {
    # Asteroid's model at our separator size (its defaults have bn_chan 128); its head is gated.
    "asteroid DPRNNTasNet": ("DPRNNTasNet", {"bn_chan": 64, "mask_act": "relu"}),
    "baseline (P = C)": ("baseline", {}),
    "overseparation P = 16": ("overseparation", {"n_outputs": 16}),
    "deepmask MLP (L)": ("deepmask", {"mlp_hidden": 64}),
}
# Models for the chunked `separate` cases: the paper-size MLP (L) and the shipped demo model.
SEPARATE_MODELS = {"deepmask MLP (L), paper size": ("deepmask", {"mlp_hidden": 64}), "deepmask-demo-2src (shipped)": ("deepmask-demo-2src", None)}


def _build(name: str, kwargs: Optional[dict]):
    torch.manual_seed(0)
    if kwargs is None:  # a shipped model
        from ...models import DeepMaskBaseModel

        return DeepMaskBaseModel.from_pretrained(name).eval()
    return make_model(name, n_src=2, **kwargs).eval()


def _peak_rss_mb() -> float:
    """This process's peak resident memory. Not getrusage's ru_maxrss: on Linux a child's includes
    its parent's peak at the fork."""
    return proc_status_kb("VmHWM") / 1024


def time_inference(seconds: float, rounds: int) -> list:
    """Median one-pass time of every model of INFERENCE_MODELS on ``seconds`` of noise, interleaved."""
    models = {label: _build(*spec) for label, spec in INFERENCE_MODELS.items()}
    audio = torch.from_numpy(np.random.default_rng(0).standard_normal((1, int(seconds * 8000))).astype(np.float32))
    times = {label: [] for label in models}
    with torch.inference_mode():
        for model in models.values():
            model(audio)  # warm-up: first-call allocations and kernel selection
        for _ in range(rounds):
            for label, model in models.items():
                start = time.perf_counter()
                model(audio)
                times[label].append(time.perf_counter() - start)
    return {"rows": [{"case": label, "seconds": seconds, "median_s": statistics.median(t), "rtf": statistics.median(t) / seconds} for label, t in times.items()]}


def one_pass_memory_case(label: str, seconds: float) -> dict:
    """Peak RSS of a fresh process that builds one model and separates ``seconds`` once."""
    model = _build(*INFERENCE_MODELS[label])
    with torch.inference_mode():
        model(torch.randn(1, int(seconds * 8000)))
    return {"peak_rss_mb": _peak_rss_mb()}


def separate_case(label: str, seconds: float, rate: int = 8000) -> dict:
    """Wall time and peak RSS of ``separate_files`` (read, resample, chunked separation with the
    default chunks, write) on a ``seconds``-long file at ``rate`` Hz."""
    import tempfile

    import soundfile as sf

    from ...inference import separate_files

    model = _build(*SEPARATE_MODELS[label])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.wav"
        with sf.SoundFile(str(path), "w", rate, 1, "FLOAT") as file:  # written in blocks: the file is not held in memory here
            rng = np.random.default_rng(0)
            for _ in range(int(seconds)):
                file.write(0.1 * rng.standard_normal(rate).astype(np.float32))
        start = time.perf_counter()
        [result] = separate_files(model, [(path, Path("long"))], Path(tmp) / "out")
        elapsed = time.perf_counter() - start
    if result.error:
        raise RuntimeError(result.error)
    return {"median_s": elapsed, "rtf": elapsed / seconds, "peak_rss_mb": _peak_rss_mb()}


def _environment(setup: str) -> dict:
    from ...runtime import SWITCH, preload_environment

    env = dict(os.environ)
    if setup in ("plain", "glibc"):  # glibc: the mallopt part of the set-up alone
        env[SWITCH] = "off" if setup == "plain" else "glibc"
        env.pop("LD_PRELOAD", None)
        return env
    env.pop(SWITCH, None)
    return preload_environment(env) or env


def training_case(label: str, steps: int, compile_model: bool = False) -> dict:
    """A paper-size training step (batch 4 x 4 s) of one model of INFERENCE_MODELS, on the CPU."""
    name, kwargs = INFERENCE_MODELS[label]
    return time_training_step(name, batch_size=4, seconds=4.0, steps=steps, warmup=1, compile_model=compile_model, **kwargs)


def _in_subprocess(function: str, *args, setup: str = "tuned") -> dict:
    """``function(*args)`` of this module in a fresh process with ``setup``; its JSON result."""
    code = (
        "import json, asteroid_deepmask.tools.bench.inference as b, asteroid_deepmask.runtime as r; r.setup(); "
        f"print(json.dumps(b.{function}(*{args!r})))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_environment(setup))
    if result.returncode:
        raise RuntimeError(f"benchmark case {function}{args} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def run_inference_benchmark(
    short: float = 4.0, long: float = 60.0, longest: float = 600.0, rounds: int = 3, setups=("tuned",), training_steps: int = 0,
    separate_cases: bool = True,
) -> list:
    """``training_steps`` paper-size training steps (batch 4 x 4 s) of our three models (and MLP (L)
    compiled, tuned) under each setup (plain, glibc, tuned), then per setup the four models one-pass on ``short`` (3 x ``rounds`` rounds) and ``long``
    seconds (``rounds`` rounds), and ``separate`` on ``long`` and ``longest`` seconds (8 kHz, and
    16 kHz for the shipped model); every row has its peak RSS from a fresh process."""
    rows = []
    training = [(label, False) for label in list(INFERENCE_MODELS)[1:]] + [("deepmask MLP (L)", True)] if training_steps else []
    for label, compiled in training:
        # The setups of one model back to back, so that the machine's drift falls on them alike.
        for setup in setups:
            if compiled and setup != "tuned":
                continue
            result = _in_subprocess("training_case", label, training_steps, compiled, setup=setup)
            case = f"training step, {label}" + (", torch.compile" if compiled else "")
            rows.append({"case": case, "seconds": 4.0, "median_s": result["median_s"], "rtf": None, "warmup_s": result["warmup_s"],
                         "chunked": False, "rate": 8000, "rounds": training_steps, "setup": setup, "peak_rss_mb": None, "training": True})
    rows.sort(key=lambda row: setups.index(row["setup"]))  # stable: printed setup by setup
    for setup in setups:
        for seconds, n in ((short, 3 * rounds), (long, rounds)):
            for row in _in_subprocess("time_inference", seconds, n, setup=setup)["rows"]:
                row.update(_in_subprocess("one_pass_memory_case", row["case"], seconds, setup=setup), chunked=False, rate=8000, rounds=n, setup=setup)
                rows.append(row)
        for label in SEPARATE_MODELS if separate_cases else ():
            for seconds, rate in ((long, 8000), (longest, 8000), (longest, 16000)):
                if rate != 8000 and "shipped" not in label:
                    continue
                rows.append({"case": f"separate, {label}", "seconds": seconds, "chunked": True, "rate": rate, "rounds": 1,
                             "setup": setup, **_in_subprocess("separate_case", label, seconds, rate, setup=setup)})
    return rows
