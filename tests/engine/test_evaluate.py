"""Evaluation: metrics against mir_eval and Asteroid, and the same table from parallel workers."""
import numpy as np
import pandas as pd
import pytest
import torch

from asteroid_deepmask.engine.evaluate import utterance_metrics


def test_sdr_matches_mir_eval_and_si_sdr_matches_asteroid():
    import mir_eval
    from asteroid.losses import singlesrc_neg_sisdr

    rng = np.random.default_rng(0)
    sources = rng.standard_normal((2, 8000))
    estimates = sources[::-1] + 0.3 * rng.standard_normal((2, 8000))  # swapped order
    mixture = sources.sum(0)
    metrics = utterance_metrics(mixture, sources, estimates)
    assert metrics["perm"] == [1, 0]
    ref_sdr, _, _, ref_perm = mir_eval.separation.bss_eval_sources(sources, estimates)
    assert metrics["sdr"] == pytest.approx(ref_sdr.mean(), abs=1e-3)
    ordered = torch.from_numpy(estimates[metrics["perm"]])
    asteroid_si_sdr = -singlesrc_neg_sisdr(ordered, torch.from_numpy(sources)).mean().item()
    assert metrics["si_sdr"] == pytest.approx(asteroid_si_sdr, abs=1e-3)
    mix_si_sdr = -singlesrc_neg_sisdr(torch.from_numpy(np.stack([mixture] * 2)), torch.from_numpy(sources)).mean().item()
    assert metrics["si_sdri"] == pytest.approx(asteroid_si_sdr - mix_si_sdr, abs=1e-3)


def test_evaluation_in_parallel_gives_the_same_table(demo_run, tmp_path):
    from asteroid_deepmask.engine.evaluate import evaluate

    exp = demo_run / "exp" / "deepmask_2src"
    test_dir = demo_run / "data" / "2speakers" / "wav8k" / "min" / "tt"
    serial = evaluate(exp / "best_model.pth", test_dir, tmp_path / "serial", n_src=2, n_examples=1, device="cpu")
    parallel = evaluate(exp / "best_model.pth", test_dir, tmp_path / "parallel", n_src=2, n_examples=1, device="cpu", workers=2)
    assert serial == pytest.approx(parallel, abs=1e-4)
    a, b = (pd.read_csv(tmp_path / name / "all_metrics.csv") for name in ("serial", "parallel"))
    pd.testing.assert_frame_equal(a, b, atol=1e-4)
    assert (tmp_path / "parallel" / "examples" / "ex_0" / "s1_estimate.wav").is_file()
