"""Paired Student-t intervals over seeds: a chapter's runs of two inputs, paired by seed, and what
their interval says about which input is ahead."""

from __future__ import annotations

import statistics
from typing import NamedTuple, Sequence


class Interval(NamedTuple):
    """A mean with its confidence interval, over ``n`` values."""

    mean: float
    low: float
    high: float
    n: int
    confidence: float

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0

    def points(self) -> str:
        """``"+3.1 points [-0.4, +6.6]"`` for accuracies given as fractions."""
        return f"{100 * self.mean:+.1f} points [{100 * self.low:+.1f}, {100 * self.high:+.1f}]"


def mean_interval(values: Sequence[float], confidence: float = 0.95) -> Interval:
    """The mean of ``values`` and its Student-t confidence interval (``n - 1`` degrees of freedom)."""
    from scipy import stats

    values = [float(v) for v in values]
    if len(values) < 2:
        raise ValueError(f"an interval needs at least 2 values, got {len(values)}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    mean = statistics.fmean(values)
    half = stats.t.ppf((1 + confidence) / 2, len(values) - 1) * statistics.stdev(values) / len(values) ** 0.5
    return Interval(mean, mean - half, mean + half, len(values), confidence)


def paired_difference(a: dict[int, float], b: dict[int, float], confidence: float = 0.95) -> Interval:
    """Mean of ``a[seed] - b[seed]`` over the seeds (both must have the same ones), with a paired-t
    confidence interval.

    Pairing by seed removes what two runs with one seed share (the head's initial weights, the batch
    order), so the interval is about the configurations, not the draws.
    """
    missing = sorted(set(a) ^ set(b))
    if missing:
        raise ValueError(f"seeds {missing} are in one configuration only; pair runs by seed")
    return mean_interval([a[seed] - b[seed] for seed in sorted(a)], confidence)


def verdict(interval: Interval, better: str, worse: str) -> str:
    """What a paired interval of ``better - worse`` says: one is ahead only if the interval excludes 0."""
    if interval.low > 0:
        return f"{better} ahead"
    if interval.high < 0:
        return f"{worse} ahead"
    return "not resolved"
