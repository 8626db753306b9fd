import numpy as np
import pytest

from asteroid_deepmask.data.levels import p56_active_power


def test_active_level_is_scale_invariant_and_ignores_pauses():
    rate = 8000
    tone = 0.5 * np.sin(2 * np.pi * 200 * np.arange(rate) / rate)
    assert abs(10 * np.log10(p56_active_power(tone, rate) / 0.125)) < 0.2  # a steady tone: its power
    with_pauses = np.concatenate([tone, np.zeros(3 * rate), tone])
    # Pauses do not lower the active level much (the RMS drops by 4 dB here).
    assert abs(10 * np.log10(p56_active_power(with_pauses, rate) / p56_active_power(tone, rate))) < 1.0
    np.testing.assert_allclose(p56_active_power(10 * with_pauses, rate), 100 * p56_active_power(with_pauses, rate))
    with pytest.raises(ValueError, match="digital silence"):
        p56_active_power(np.zeros(100), rate)
