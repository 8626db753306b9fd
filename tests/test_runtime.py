"""The CPU runtime set-up: allocator detection and its fallbacks, and unchanged numerics."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from asteroid_deepmask import runtime

JEMALLOC = runtime.find_allocator()


def test_no_allocator_installed_falls_back_to_tuned_glibc(tmp_path, monkeypatch):
    assert runtime.find_allocator([str(tmp_path)]) is None
    assert runtime.preload_environment({}, [str(tmp_path)]) is None
    monkeypatch.setattr(runtime.os, "execve", lambda *a: pytest.fail("nothing to preload: no re-execution"))
    message = runtime.setup(reexec_argv=["-m", "x"], environ={}, search_dirs=[str(tmp_path)])
    assert "glibc malloc, told to keep freed memory" in message or runtime.loaded_allocator() in message


def test_a_found_allocator_is_preloaded_once_and_can_be_switched_off(tmp_path):
    fake = tmp_path / "libjemalloc.so.2"
    fake.write_bytes(b"")
    env = runtime.preload_environment({"LD_PRELOAD": "/other.so"}, [str(tmp_path)])
    if runtime.loaded_allocator():
        pytest.skip("this process already has an allocator preloaded")
    assert env["LD_PRELOAD"] == f"{fake} /other.so"
    assert env["MALLOC_CONF"] == runtime.JEMALLOC_CONF
    assert runtime.preload_environment(env, [str(tmp_path)]) is None  # the re-executed process does not loop
    assert runtime.preload_environment({"MALLOC_CONF": "mine"}, [str(tmp_path)])["MALLOC_CONF"] == "mine"
    for switch in ("off", "glibc"):
        assert runtime.preload_environment({runtime.SWITCH: switch}, [str(tmp_path)]) is None
    with pytest.raises(ValueError, match="must be auto, glibc or off"):
        runtime.setup(environ={runtime.SWITCH: "fast"})


def test_a_library_that_does_not_load_is_reported_not_fatal(tmp_path):
    env = {runtime._REEXECUTED: str(tmp_path / "libjemalloc.so.2")}
    message = runtime.setup(environ=env, search_dirs=[str(tmp_path)])
    if runtime.loaded_allocator() is None:
        assert "did not load" in message


STEP = """
import json, sys, numpy as np, torch
import asteroid_deepmask.runtime as runtime
print(runtime.setup(), file=sys.stderr)
from asteroid.losses import PITLossWrapper, pairwise_neg_snr
from asteroid_deepmask.models import make_model
torch.manual_seed(0)
model = make_model("deepmask", n_src=2, n_repeats=2, bn_chan=32, hid_size=32, chunk_size=50, hop_size=25)
sources = torch.randn(2, 2, 16000, generator=torch.Generator().manual_seed(1))
loss = PITLossWrapper(pairwise_neg_snr, pit_from="pw_mtx")(model(sources.sum(1)), sources)
loss.backward()
grads = torch.cat([p.grad.flatten() for p in model.parameters()])
print(json.dumps({"loss": loss.item(), "grads": grads.tolist()}))
"""


def _training_step(env) -> dict:
    result = subprocess.run([sys.executable, "-c", STEP], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return {**json.loads(result.stdout.strip().splitlines()[-1]), "log": result.stderr}


def test_tuned_and_plain_processes_give_the_same_loss_and_gradients():
    plain_env = {**os.environ, runtime.SWITCH: "off"}
    plain_env.pop("LD_PRELOAD", None)
    tuned_env = runtime.preload_environment({k: v for k, v in os.environ.items() if k != runtime.SWITCH}) or dict(os.environ)
    plain, tuned = _training_step(plain_env), _training_step(tuned_env)
    assert "the default malloc" in plain["log"]
    if JEMALLOC:
        assert f"CPU runtime: {JEMALLOC[0]}" in tuned["log"]
    assert tuned["loss"] == pytest.approx(plain["loss"], rel=1e-5)
    np.testing.assert_allclose(tuned["grads"], plain["grads"], rtol=1e-4, atol=1e-6)


def test_the_command_line_runs_long_commands_with_the_allocator(tmp_path):
    if JEMALLOC is None:
        pytest.skip("no jemalloc or tcmalloc installed here")
    env = {k: v for k, v in os.environ.items() if k not in (runtime.SWITCH, "LD_PRELOAD", runtime._REEXECUTED)}
    wav = tmp_path / "x.wav"
    import soundfile as sf

    sf.write(str(wav), 0.1 * np.random.default_rng(0).standard_normal(8000), 8000)
    command = [sys.executable, "-m", "asteroid_deepmask.cli", "separate", "deepmask-demo-2src", str(wav), "-o", str(tmp_path / "out")]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"CPU runtime: {JEMALLOC[0]}" in result.stderr


def test_compiled_training_forward_gives_the_eager_loss_and_keeps_the_state_dict():
    import torch
    from asteroid.losses import PITLossWrapper, pairwise_neg_snr

    from asteroid_deepmask.models import make_model
    from asteroid_deepmask.engine.system import EpochLossSystem

    torch.manual_seed(0)
    model = make_model("deepmask", n_src=2, n_repeats=1, bn_chan=16, hid_size=16, chunk_size=20, hop_size=10, n_filters=32)
    loss_func = PITLossWrapper(pairwise_neg_snr, pit_from="pw_mtx")
    systems = [EpochLossSystem(model, None, loss_func, None, compile_training=flag) for flag in (False, True)]
    sources = torch.randn(2, 2, 4000, generator=torch.Generator().manual_seed(1))
    losses = []
    for system in systems:
        system.log = lambda *args, **kwargs: None  # no trainer attached
        loss = system.training_step((sources.sum(1), sources), 0)
        losses.append(loss.item())
        model.zero_grad()
    assert losses[1] == pytest.approx(losses[0], rel=1e-5)
    assert systems[1].compiled_forward is not None
    assert list(systems[1].state_dict()) == list(systems[0].state_dict())
