"""The seed-level and the seed-and-clip t intervals: Welch-Satterthwaite over backbones, the clip part
of the variance, contrasts between backbones."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from vmp.stats.intervals import TInterval, residual_mean_square, seed_clip_t, seed_t
from vmp.stats.paired_t import mean_interval


def rows(per_seed: list[float], clips: int = 600) -> np.ndarray:
    """A (seeds, clips) array whose seed means are ``per_seed`` (every clip the same)."""
    return np.tile(np.asarray(per_seed)[:, None], (1, clips))


def test_seed_t_is_welch_satterthwaite_over_backbones():
    # from scratch, seeds 0-2: per-seed VMP - frames of Tiny3D and SlowFast, in points
    tiny, slowfast = rows([8.2, -1.8, -1.2]) / 100, rows([6.2, 14.8, 2.3]) / 100
    result = seed_t([tiny, slowfast])
    low, high = result.interval()
    assert result.estimate == pytest.approx((tiny.mean() + slowfast.mean()) / 2)
    assert (100 * low, 100 * high) == pytest.approx((-2.1, 11.6), abs=0.06)
    assert result.degrees_of_freedom == pytest.approx(3.93, abs=0.01)


def test_one_backbone_is_the_paired_t_interval_over_seeds():
    rng = np.random.default_rng(0)
    d = rng.integers(-1, 2, (5, 300)).astype(float)
    mine, report = seed_t([d]), mean_interval(d.mean(axis=1))
    assert mine.interval() == pytest.approx((report.low, report.high))
    assert mine.degrees_of_freedom == 4 and mine.clip_variance == 0


def test_clips_that_differ_alike_in_every_seed_give_the_clip_part_alone():
    rng = np.random.default_rng(1)
    clip_effects = rng.integers(-1, 2, 600).astype(float)
    result = seed_clip_t([np.tile(clip_effects, (4, 1))])
    assert result.seed_variance == 0 and residual_mean_square(np.tile(clip_effects, (4, 1))) < 1e-20
    assert result.standard_error == pytest.approx(clip_effects.std(ddof=1) / np.sqrt(600))
    assert result.degrees_of_freedom == pytest.approx(599)


def test_seed_by_clip_noise_is_not_counted_as_a_clip_effect():
    rng = np.random.default_rng(2)
    naive, clip_part = [], []
    for _ in range(40):
        d = rng.integers(-1, 2, (5, 600)).astype(float)  # no clip effects: every cell independent
        naive.append(d.mean(axis=0).var(ddof=1) / 600)
        clip_part.append(seed_clip_t([d]).clip_variance)
    assert np.mean(clip_part) < 0.15 * np.mean(naive)


def test_a_contrast_between_backbones_cancels_the_clip_effects_they_share():
    rng = np.random.default_rng(3)
    shared = rng.integers(-1, 2, 600).astype(float)
    first = np.tile(shared, (5, 1)) + rng.normal(0, 0.01, (5, 1))
    second = np.tile(shared, (5, 1)) + rng.normal(0, 0.01, (5, 1)) + 0.05
    contrast = seed_clip_t([second, first], weights=[1, -1])
    assert contrast.estimate == pytest.approx(second.mean() - first.mean())
    assert contrast.clip_variance < 1e-6 < seed_clip_t([first, second]).clip_variance


def test_p_value_and_detectable_follow_the_t_distribution():
    result = TInterval(estimate=stats.t.ppf(0.975, 4) * 0.01, seed_variance=1e-4, clip_variance=0.0,
                       degrees_of_freedom=4)
    assert result.p_value == pytest.approx(0.05)
    assert result.interval()[0] == pytest.approx(0, abs=1e-12)
    assert result.detectable() == pytest.approx((stats.t.ppf(0.975, 4) + stats.t.ppf(0.8, 4)) * 0.01)
    assert TInterval(0.0, 0.0, 0.0, 4).p_value == 1.0


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="at least 2 seeds"):
        seed_t([np.zeros((1, 10))])
    with pytest.raises(ValueError, match="same clips"):
        seed_clip_t([np.zeros((3, 10)), np.zeros((3, 11))])
    with pytest.raises(ValueError, match="one weight per backbone"):
        seed_t([np.zeros((3, 10))], weights=[1, -1])
    with pytest.raises(ValueError, match="no backbones"):
        seed_t([])
