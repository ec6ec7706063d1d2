"""The two-level bootstrap: the same resamples as drawing seeds and clips by hand, and the right spread."""

from __future__ import annotations

import numpy as np
import pytest

from vmp.stats.bootstrap import Bootstrap, cluster_bootstrap, per_clip_differences


def test_weights_give_the_same_estimates_as_drawing_seeds_and_clips_by_hand():
    rng = np.random.default_rng(1)
    differences = [rng.integers(-1, 2, (5, 40)).astype(float), rng.integers(-1, 2, (3, 40)).astype(float)]
    result = cluster_bootstrap(differences, resamples=4, seed=7)
    # replay the generator: clip draws first, then each backbone's seed draws
    replay = np.random.default_rng(7)
    clip_weights = replay.multinomial(40, np.full(40, 1 / 40), size=4)
    by_hand = np.zeros(4)
    for d in differences:
        seed_weights = replay.multinomial(len(d), np.full(len(d), 1 / len(d)), size=4)
        for r in range(4):
            seeds = np.repeat(np.arange(len(d)), seed_weights[r])
            clips = np.repeat(np.arange(40), clip_weights[r])
            by_hand[r] += d[np.ix_(seeds, clips)].mean()
    assert np.allclose(result.resamples, by_hand / 2)
    assert result.estimate == pytest.approx(np.mean([d.mean() for d in differences]))


def test_clip_noise_alone_gives_the_binomial_standard_error():
    rng = np.random.default_rng(0)
    clips = 600
    truth = rng.uniform(size=clips) < 0.7  # which clips input a gets right; b gets none right
    a = np.tile(truth, (5, 1)).astype(int)  # every seed the same: no seed-level spread
    result = cluster_bootstrap([per_clip_differences(a, np.zeros_like(a))], resamples=4000)
    expected = np.sqrt(truth.mean() * (1 - truth.mean()) / clips)
    assert result.standard_error == pytest.approx(expected, rel=0.1)
    low, high = result.interval()
    assert low < truth.mean() < high and result.p_value == 0.0
    assert result.detectable() == pytest.approx(2.8016 * result.standard_error, rel=1e-3)


def test_seed_spread_widens_the_interval_and_no_difference_is_not_resolved():
    rng = np.random.default_rng(2)
    same_clips = rng.integers(0, 2, (1, 300))
    shifts = np.array([[-1], [0], [1], [0], [0]])  # seed-level swings on top of the same clips
    seeds_vary = np.clip(same_clips + shifts * (rng.uniform(size=(5, 300)) < 0.2), 0, 1)
    fixed = cluster_bootstrap([per_clip_differences(np.tile(same_clips, (5, 1)), np.zeros((5, 300), int))])
    varied = cluster_bootstrap([per_clip_differences(seeds_vary, np.zeros((5, 300), int))])
    assert varied.standard_error > fixed.standard_error
    null = cluster_bootstrap([per_clip_differences(rng.integers(0, 2, (5, 300)), rng.integers(0, 2, (5, 300)))])
    low, high = null.interval()
    assert low < 0 < high and null.p_value > 0.05


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="same clips"):
        cluster_bootstrap([np.zeros((5, 10)), np.zeros((5, 11))])
    with pytest.raises(ValueError, match="one shape"):
        per_clip_differences([[1, 0]], [[1, 0, 1]])
    with pytest.raises(ValueError, match="no backbones"):
        cluster_bootstrap([])
    assert Bootstrap(0.0, np.array([-1.0, 1.0])).p_value == 1.0
