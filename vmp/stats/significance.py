"""Significance over a family and against chance: Holm's step-down adjustment, and the exact
binomial test of a test score against guessing."""

from __future__ import annotations


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


def clips_needed(clips: int, chance: float, level: float) -> int:
    """The fewest correct clips out of ``clips`` whose guessing p-value (:func:`chance_p_value`) is
    below ``level``: the line a single run must reach to count as above chance."""
    for correct in range(clips + 1):
        if chance_p_value(correct / clips, clips, chance) < level:
            return correct
    raise ValueError(f"no score on {clips} clips is below p = {level} against {chance:.1%} chance")
