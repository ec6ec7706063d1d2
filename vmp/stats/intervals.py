"""Student-t intervals for a difference between two inputs that hold their level at a few seeds.

Every seed of a study is tested on the same test clips, so seeds and clips are crossed. The mean
difference then varies with the seeds drawn (the spread of the per-seed means) and with the clips
drawn (the spread of the per-clip means, less the part the seeds' own noise adds to it). The
seed-level t interval uses the first part only; :func:`seed_clip_t` adds the second. Both take
Student's t with Welch-Satterthwaite degrees of freedom, so three seeds give a wide interval, as
they should (a percentile bootstrap over three seeds cannot: see ``vmp.stats.coverage``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class TInterval:
    """A difference (a fraction of clips), its variance from seeds and from clips, and its t intervals."""

    estimate: float
    seed_variance: float
    clip_variance: float
    degrees_of_freedom: float

    @property
    def standard_error(self) -> float:
        return float(np.sqrt(self.seed_variance + self.clip_variance))

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        """``estimate ± t(df) · se`` at confidence ``level``."""
        half = stats.t.ppf(0.5 + level / 2, self.degrees_of_freedom) * self.standard_error
        return self.estimate - half, self.estimate + half

    @property
    def p_value(self) -> float:
        """Two-sided p-value of a difference of zero."""
        if self.standard_error == 0:
            return 1.0 if self.estimate == 0 else 0.0
        return float(2 * stats.t.sf(abs(self.estimate) / self.standard_error, self.degrees_of_freedom))

    def detectable(self, alpha: float = 0.05, power: float = 0.8) -> float:
        """The smallest true difference a two-sided t test at ``alpha`` finds with ``power``."""
        df = self.degrees_of_freedom
        return float((stats.t.ppf(1 - alpha / 2, df) + stats.t.ppf(power, df)) * self.standard_error)


def _checked(differences: Sequence[np.ndarray], weights: Sequence[float] | None) -> tuple[list[np.ndarray], np.ndarray]:
    arrays = [np.asarray(d, dtype=np.float64) for d in differences]
    if not arrays:
        raise ValueError("no backbones to combine")
    if any(d.ndim != 2 or d.shape[0] < 2 for d in arrays):
        raise ValueError(f"need (seeds, clips) arrays with at least 2 seeds, got {[d.shape for d in arrays]}")
    if len({d.shape[1] for d in arrays}) != 1:
        raise ValueError(f"every backbone must be tested on the same clips, got {[d.shape for d in arrays]}")
    w = np.full(len(arrays), 1 / len(arrays)) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (len(arrays),):
        raise ValueError(f"need one weight per backbone, got {len(w)} for {len(arrays)}")
    return arrays, w


def _seed_parts(arrays: list[np.ndarray], w: np.ndarray) -> list[tuple[float, int]]:
    """Each backbone's part of the variance from its seeds, with its degrees of freedom."""
    return [(weight**2 * d.mean(axis=1).var(ddof=1) / d.shape[0], d.shape[0] - 1) for d, weight in zip(arrays, w)]


def _satterthwaite(parts: list[tuple[float, float]]) -> float:
    total = sum(v for v, _ in parts)
    spread = sum(v**2 / df for v, df in parts if v > 0)
    return float(total**2 / spread) if spread > 0 else float(sum(df for _, df in parts))


def residual_mean_square(d: np.ndarray) -> float:
    """The seed-by-clip mean square of one ``(seeds, clips)`` array: the variance of one seed's
    result on one clip once the seed's and the clip's means are taken out."""
    residual = d - d.mean(axis=1, keepdims=True) - d.mean(axis=0, keepdims=True) + d.mean()
    return float((residual**2).sum() / ((d.shape[0] - 1) * (d.shape[1] - 1)))


def seed_t(differences: Sequence[np.ndarray], weights: Sequence[float] | None = None) -> TInterval:
    """The seed-level t interval: the weighted sum (default: the mean) over backbones of each
    backbone's mean difference, its variance from the spread of the per-seed means alone (the test
    clips held fixed). ``differences``: one ``(seeds, clips)`` array per backbone, same clips."""
    arrays, w = _checked(differences, weights)
    parts = _seed_parts(arrays, w)
    estimate = float(sum(weight * d.mean() for d, weight in zip(arrays, w)))
    return TInterval(estimate, sum(v for v, _ in parts), 0.0, _satterthwaite(parts))


def seed_clip_t(differences: Sequence[np.ndarray], weights: Sequence[float] | None = None) -> TInterval:
    """:func:`seed_t` with the test clips' part of the variance added: the variance over clips of
    the weighted per-clip mean difference, less the seed-by-clip noise it carries, over the clips.
    Clips are shared by the backbones, so one clip's effects on them are combined before squaring."""
    arrays, w = _checked(differences, weights)
    parts = _seed_parts(arrays, w)
    clips = arrays[0].shape[1]
    per_clip = sum(weight * d.mean(axis=0) for d, weight in zip(arrays, w))
    noise = sum(weight**2 * residual_mean_square(d) / d.shape[0] for d, weight in zip(arrays, w))
    clip_variance = max(0.0, float(per_clip.var(ddof=1)) - noise) / clips
    estimate = float(sum(weight * d.mean() for d, weight in zip(arrays, w)))
    degrees = _satterthwaite([*parts, (clip_variance, clips - 1)])
    return TInterval(estimate, sum(v for v, _ in parts), clip_variance, degrees)
