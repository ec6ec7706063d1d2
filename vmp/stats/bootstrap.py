"""Intervals that resample seeds *and* test clips: a two-level (cluster) bootstrap for paired runs.

Two inputs trained with the same seeds and tested on the same clips give, per backbone, a
``(seeds, clips)`` array of per-clip differences (1 - 0, 0 - 0, ...). A seed-only interval treats
the test clips as fixed, so it says nothing about clips the study did not draw; resampling both
levels does. Each resample draws the seeds of every backbone with replacement and, once for all
backbones and both inputs, the test clips with replacement (so a clip stays paired with itself),
and averages the differences over backbones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Bootstrap:
    """A paired difference (a fraction of clips) and its resampled distribution."""

    estimate: float
    resamples: np.ndarray

    @property
    def standard_error(self) -> float:
        return float(self.resamples.std(ddof=1))

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        """The percentile interval at ``level``."""
        tail = (1 - level) / 2
        low, high = np.quantile(self.resamples, [tail, 1 - tail])
        return float(low), float(high)

    @property
    def p_value(self) -> float:
        """Two-sided: twice the share of resamples on the far side of zero (at most 1)."""
        below, above = (self.resamples <= 0).mean(), (self.resamples >= 0).mean()
        return float(min(1.0, 2 * min(below, above)))

    def detectable(self, alpha: float = 0.05, power: float = 0.8) -> float:
        """The smallest true difference a test at ``alpha`` detects with ``power``, from this standard error."""
        return float((stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)) * self.standard_error)


def per_clip_differences(correct_a: Sequence[Sequence[int]], correct_b: Sequence[Sequence[int]]) -> np.ndarray:
    """``(seeds, clips)`` differences of two inputs' per-clip results, rows paired by seed."""
    a, b = np.asarray(correct_a, dtype=np.int8), np.asarray(correct_b, dtype=np.int8)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"need two (seeds, clips) arrays of one shape, got {a.shape} and {b.shape}")
    return a.astype(np.float64) - b


def cluster_bootstrap(differences: Sequence[np.ndarray], resamples: int = 10_000, seed: int = 0) -> Bootstrap:
    """The mean over backbones of each backbone's mean per-clip difference, resampling each
    backbone's seeds and, shared by all, the test clips. ``differences``: one ``(seeds, clips)``
    array per backbone, every one over the same clips."""
    if not differences:
        raise ValueError("no backbones to average over")
    clips = {d.shape[1] for d in differences}
    if len(clips) != 1:
        raise ValueError(f"every backbone must be tested on the same clips, got {sorted(clips)} clips")
    (count,) = clips
    rng = np.random.default_rng(seed)
    # a resample is a weight per clip and per seed: how often each is drawn
    clip_weights = rng.multinomial(count, np.full(count, 1 / count), size=resamples) / count  # (R, clips)
    total = np.zeros(resamples)
    for d in differences:
        seeds = d.shape[0]
        seed_weights = rng.multinomial(seeds, np.full(seeds, 1 / seeds), size=resamples) / seeds  # (R, seeds)
        total += ((seed_weights @ d) * clip_weights).sum(axis=1)
    estimate = float(np.mean([d.mean() for d in differences]))
    return Bootstrap(estimate, total / len(differences))
