"""CPU deployment: every backend and precision against torch fp32, for speed, memory, output
deviation and separation quality, in one run.

Times: one process per model, the cases interleaved round by round (the machine's drift falls on
all alike), so the speed ratios to torch fp32 are within one run. Peak memory: a fresh process per
case. Output deviation: the worst source's SNR against torch fp32 on the timing input. Quality:
SI-SDRi over wsj0-mix style test sets (json folders: mix.json, s1.json, ...), for each case, and
its change from torch fp32. Prints nothing: ``asteroid-deepmask benchmark --deploy`` prints the table.
"""
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, Optional, Sequence

import numpy as np
import soundfile as sf
import torch

from ...deploy import PrecisionError, export_model, load_separator
from ...deploy.backends import output_snr
from ...engine.evaluate import utterance_metrics
from ...inference import separate_long
from ...models import DeepMaskBaseModel, make_model
from ...runtime import proc_status_kb

# The shipped real-voice DeepMask model and the paper-size MLP (L) (random weights: speed and output
# deviation only, it separates nothing).
DEPLOY_MODELS = {
    "deepmask-voices-2src (shipped)": ("deepmask-voices-2src", None),
    "MLP (L), paper size": ("deepmask", {"mlp_hidden": 64}),
}
CASES = (("torch", "fp32"), ("torch", "bf16"), ("torch", "int8"), ("onnxruntime", "fp32"), ("onnxruntime", "int8"))


def build_model(label: str):
    name, kwargs = DEPLOY_MODELS[label]
    torch.manual_seed(0)
    return DeepMaskBaseModel.from_pretrained(name).eval() if kwargs is None else make_model(name, n_src=2, **kwargs).eval()


def worst_source_snr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """The smallest per-source :func:`output_snr` of ``estimate`` against ``reference`` ``(batch, n_src, time)``."""
    length = reference.shape[-1]
    return min(output_snr(r, e) for r, e in zip(reference.reshape(-1, length), estimate.reshape(-1, length)))


def _separators(model) -> Dict[tuple, object]:
    """Each case's separator, or the reason it cannot run here."""
    separators = {}
    for backend, precision in CASES:
        try:
            separators[backend, precision] = load_separator(model, backend, precision)
        except PrecisionError as refused:
            separators[backend, precision] = str(refused)
    return separators


def _run(separator, mixture: np.ndarray, chunk_seconds: Optional[float]) -> np.ndarray:
    """One pass, or ``separate``'s chunked overlap-add (what a file goes through) when ``chunk_seconds``."""
    return separator(mixture) if chunk_seconds is None else separate_long(separator, mixture, chunk_seconds)


def time_cases(label: str, seconds: float, rounds: int, chunk_seconds: Optional[float] = None) -> list:
    """Median time of every case on ``seconds`` of noise (one pass, or in chunks of ``chunk_seconds``),
    interleaved, with the speed ratio and the worst-source output SNR against torch fp32."""
    model = build_model(label)
    separators = _separators(model)
    mixture = (0.1 * np.random.default_rng(0).standard_normal((1, int(seconds * model.sample_rate)))).astype(np.float32)
    runnable = {case: s for case, s in separators.items() if not isinstance(s, str)}
    outputs = {case: _run(separator, mixture, chunk_seconds) for case, separator in runnable.items()}  # also the warm-up
    times = {case: [] for case in runnable}
    for _ in range(rounds):
        for case, separator in runnable.items():
            start = time.perf_counter()
            _run(separator, mixture, chunk_seconds)
            times[case].append(time.perf_counter() - start)
    fp32 = statistics.median(times["torch", "fp32"])
    rows = []
    for (backend, precision), separator in separators.items():
        row = {"model": label, "backend": backend, "precision": precision, "seconds": seconds, "chunk_seconds": chunk_seconds, "rounds": rounds}
        if isinstance(separator, str):
            rows.append({**row, "refused": separator})
            continue
        median = statistics.median(times[backend, precision])
        rows.append({**row, "median_s": median, "speedup": fp32 / median, "rtf": median / seconds,
                     "output_snr_db": worst_source_snr(outputs["torch", "fp32"], outputs[backend, precision])})  # fmt: skip
    return rows


def memory_case(model_file: str, backend: str, precision: str, seconds: float, chunk_seconds: Optional[float] = None) -> dict:
    """Peak RSS of a fresh process that loads one case (a model name or file; an exported .onnx for
    onnxruntime) and separates once."""
    separator = load_separator(model_file, backend, precision)
    _run(separator, np.zeros((1, int(seconds * separator.sample_rate)), np.float32), chunk_seconds)
    return {"peak_rss_mb": proc_status_kb("VmHWM") / 1024}


def test_set_si_sdri(separator, json_dir, limit: Optional[int] = None) -> float:
    """Mean SI-SDRi of ``separator`` over a wsj0-mix style json folder (one pass per mixture)."""
    json_dir = Path(json_dir)
    mixtures = json.loads((json_dir / "mix.json").read_text())[:limit]
    sources = [json.loads(p.read_text())[:limit] for p in sorted(json_dir.glob("s[0-9]*.json"))]
    scores = []
    for k, (mix_path, _) in enumerate(mixtures):
        mixture, _ = sf.read(mix_path, dtype="float32")
        references = np.stack([sf.read(s[k][0], dtype="float32")[0] for s in sources])
        estimates = separator(mixture[None])[0]
        scores.append(utterance_metrics(mixture, references, estimates)["si_sdri"])
    return float(np.mean(scores))


def quality_cases(label: str, test_sets: Dict[str, str], limit: Optional[int] = None) -> list:
    """SI-SDRi of every runnable case on each test set, and its change from torch fp32."""
    separators = _separators(build_model(label))
    rows = []
    for set_name, json_dir in test_sets.items():
        scores = {case: test_set_si_sdri(s, json_dir, limit) for case, s in separators.items() if not isinstance(s, str)}
        for (backend, precision), score in scores.items():
            rows.append({"model": label, "backend": backend, "precision": precision, "test_set": set_name,
                         "si_sdri": score, "delta_db": score - scores["torch", "fp32"]})  # fmt: skip
    return rows


def _in_subprocess(function: str, *args) -> dict:
    """``function(*args)`` of this module in a fresh process with the package's CPU set-up (as ``separate``)."""
    code = (
        "import json, asteroid_deepmask.tools.bench.deploy as b, asteroid_deepmask.runtime as r; r.setup(); "
        f"print(json.dumps(b.{function}(*{args!r})))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(f"benchmark case {function}{args} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def run_deploy_benchmark(
    lengths: Sequence[tuple] = ((4.0, None), (60.0, None), (60.0, 8.0)), rounds: int = 5, test_sets: Optional[Dict[str, str]] = None,
    limit: Optional[int] = None, log=lambda line: None,
) -> dict:
    """Timing rows (each model x (seconds, chunk_seconds or None for one pass), ``3 * rounds`` rounds
    for the shortest, ``rounds`` for the others) with their peak memory, and quality rows of the
    shipped model on ``test_sets``. The default: 4 s and 60 s in one pass, and 60 s as ``separate``
    runs a file (8 s chunks)."""
    timing = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, (name, kwargs) in DEPLOY_MODELS.items():
            model_file = name
            if kwargs is not None:  # the paper-size model has no file: save it for the memory processes
                model_file = str(Path(tmp) / "paper_size.pth")
                torch.save(build_model(label).serialize(), model_file)
            onnx_file = str(export_model(DeepMaskBaseModel.from_pretrained(model_file), Path(tmp) / "model.onnx"))
            shortest = min(seconds for seconds, _ in lengths)
            for seconds, chunk_seconds in lengths:
                log(f"timing {label}, {seconds:g} s" + (f" in {chunk_seconds:g} s chunks" if chunk_seconds else ""))
                n = 3 * rounds if seconds == shortest else rounds
                for row in _in_subprocess("time_cases_json", label, seconds, n, chunk_seconds)["rows"]:
                    if "refused" not in row:
                        source = onnx_file if row["backend"] == "onnxruntime" else model_file
                        row.update(_in_subprocess("memory_case", source, row["backend"], row["precision"], seconds, chunk_seconds))
                    timing.append(row)
    quality = []
    if test_sets:
        log(f"quality on {', '.join(test_sets)}")
        quality = quality_cases(next(iter(DEPLOY_MODELS)), test_sets, limit)
    return {"timing": timing, "quality": quality, "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "torch": torch.__version__, "threads": torch.get_num_threads()}  # fmt: skip


def time_cases_json(label: str, seconds: float, rounds: int, chunk_seconds: Optional[float] = None) -> dict:
    return {"rows": time_cases(label, seconds, rounds, chunk_seconds)}
