"""Summaries of repeated runs as tables: mean and spread over seeds, rendered as Markdown.

The book's result tables are produced by these functions from the runs a chapter executes, so no
number in them is typed by hand.
"""

from __future__ import annotations

import statistics
from typing import Any, NamedTuple, Sequence


def mean_and_spread(values: Sequence[float]) -> tuple[float, float]:
    """The mean and the sample standard deviation (0 for a single value)."""
    if not values:
        raise ValueError("no values to summarise")
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def percent(value: float, spread: float | None = None) -> str:
    """``0.3194`` -> ``"31.9%"``; with a spread, ``"31.9 ± 2.1%"``."""
    return f"{100 * value:.1f}%" if spread is None else f"{100 * value:.1f} ± {100 * spread:.1f}%"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub/MyST Markdown table; every row must have one cell per header column."""
    for number, row in enumerate(rows, start=1):
        if len(row) != len(header):
            raise ValueError(f"row {number} has {len(row)} cells, the header has {len(header)}: {row}")
    lines = ["| " + " | ".join(map(str, header)) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in rows]
    return "\n".join(lines)


def seed_table(runs: Sequence[dict], inputs: Sequence[str], baseline: str = "frames") -> str:
    """A Markdown table of test top-1 per input over seeds: each seed's value, mean ± sd, and the
    mean paired difference to ``baseline`` (same seed), from run records with ``input``, ``seed``
    and ``test_top1`` (as ``benchmarks/finetune.py`` writes them)."""
    by_input = {name: {r["seed"]: r["test_top1"] for r in runs if r["input"] == name} for name in inputs}
    rows = []
    for name in inputs:
        seeds = sorted(by_input[name])
        values = [by_input[name][s] for s in seeds]
        paired = [by_input[name][s] - by_input[baseline][s] for s in seeds if s in by_input[baseline]]
        gap = "" if name == baseline else f"{100 * statistics.fmean(paired):+.1f} points"
        rows.append([name, ", ".join(percent(v) for v in values), percent(*mean_and_spread(values)), gap])
    return markdown_table(["input", "test top-1 per seed", "mean ± sd", f"paired gain over {baseline}"], rows)


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


def holm_adjusted(p_values: dict[str, float]) -> dict[str, float]:
    """Holm's step-down adjustment of a family of p-values: reject where the adjusted value is below
    the level, and the chance of any false rejection in the family stays at that level."""
    order = sorted(p_values, key=p_values.get)
    adjusted, running = {}, 0.0
    for rank, name in enumerate(order):
        running = max(running, min(1.0, (len(order) - rank) * p_values[name]))
        adjusted[name] = running
    return {name: adjusted[name] for name in p_values}


def chance_p_value(accuracy: float, clips: int, chance: float) -> float:
    """One-sided exact binomial p-value of scoring ``accuracy`` on ``clips`` test clips by guessing
    (each right with probability ``chance``): how surprising the score would be from chance alone."""
    from scipy import stats

    correct = round(accuracy * clips)
    if abs(correct - accuracy * clips) > 1e-6:
        raise ValueError(f"accuracy {accuracy} is not a whole number of correct clips out of {clips}")
    return float(stats.binomtest(correct, clips, chance, alternative="greater").pvalue)


def by_seed(records: Sequence[dict], backbone: str, config: str, metric: str = "test_top1") -> dict[int, float]:
    """``{seed: metric}`` of one backbone's runs of one configuration (records as
    ``benchmarks/ablations.py`` writes them: ``backbone``, ``config``, ``seed`` and the metrics)."""
    values = {r["seed"]: r[metric] for r in records if r["backbone"] == backbone and r["config"] == config}
    if not values:
        raise ValueError(f"no runs of {config!r} for {backbone!r}")
    return values


def choose_on_validation(records: Sequence[dict], backbone: str, candidates: Sequence[str]) -> str:
    """The candidate configuration with the best mean validation top-1 over its seeds (test unseen)."""
    return max(candidates, key=lambda name: statistics.fmean(by_seed(records, backbone, name, "val_top1").values()))


def paired_comparisons(records: Sequence[dict], backbone: str, pairs: Sequence[tuple[str, str]],
                       confidence: float = 0.95) -> list[dict]:
    """For each ``(a, b)``: the paired test top-1 difference ``a - b`` over seeds, its interval and verdict."""
    rows = []
    for a, b in pairs:
        interval = paired_difference(by_seed(records, backbone, a), by_seed(records, backbone, b), confidence)
        rows.append({"a": a, "b": b, "interval": interval, "verdict": verdict(interval, a, b)})
    return rows
