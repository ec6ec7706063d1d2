"""Summaries of repeated runs as tables: mean and spread over seeds, rendered as Markdown.

The book's result tables are produced by these functions from the runs a chapter executes, so no
number in them is typed by hand.
"""

from __future__ import annotations

import statistics
from typing import Any, Sequence

from torch.utils.data import Dataset

from vmp.stats.paired_t import Interval, paired_difference, verdict
from vmp.stats.significance import chance_p_value


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


def by_seed(records: Sequence[dict], backbone: str, config: str, metric: str = "test_top1") -> dict[int, float]:
    """``{seed: metric}`` of one backbone's runs of one configuration (records as
    ``benchmarks/ablations.py`` writes them: ``backbone``, ``config``, ``seed`` and the metrics)."""
    values = {r["seed"]: r[metric] for r in records if r["backbone"] == backbone and r["config"] == config}
    if not values:
        raise ValueError(f"no runs of {config!r} for {backbone!r}")
    return values


#: The sweep configurations whose layer starts at the book's ``DEFAULT_START``: their records carry
#: the start they used (``initial``), so a file can hold runs from an earlier start beside the current.
STARTED_CONFIGS = ("vmp_frozen", "vmp", "vmp_lambda_0.1", "vmp_lambda_1", "vmp_lambda_10", "vmp_other_lr")


def from_start(
    records: Sequence[dict], start: tuple[float, float], configs: Sequence[str] = STARTED_CONFIGS
) -> list[dict]:
    """The records as they stand for one layer start: every run of a configuration not in
    ``configs``, and the runs of those in it that started at ``start`` (slope, shift)."""
    return [r for r in records if r["config"] not in configs
            or all(abs(a - b) < 1e-4 for a, b in zip(r["initial"], start))]


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


# numbers for a chapter's prose (MyST-NB glue) ---------------------------------------------------------


def glue_all(numbers: dict[str, str]) -> None:
    """Hand every ``{name: text}`` to MyST-NB's ``glue`` (no visible output): the prose cites them
    as ``{glue:text}`name```, so a sentence states the number its cell computed."""
    from myst_nb import glue

    for name, text in numbers.items():
        glue(name, text, display=False)


def run_summary(runs: dict[str, Any]) -> str:
    """One line per input of :func:`vmp.experiment.compare_inputs`: test top-1 and mean class accuracy."""
    return "\n".join(f"{name:10s} test top-1 {run.test['top1']:.3f}, mean class accuracy "
                     f"{run.test['mean_class_accuracy']:.3f}" for name, run in runs.items())


def single_run_numbers(top1: dict[str, float], scores: dict[str, tuple[float, int]],
                       chance: float) -> dict[str, str]:
    """One run per input: its test top-1 (``top1_<input>``), ``chance``, and the exact binomial
    p-value of guessing one's way to the score the check against chance reads (``p_<input>``;
    ``scores``: input -> (top-1, clips scored), the test split's or fresh clips')."""
    numbers = {"chance": f"{chance:.1%}"}
    for name, value in top1.items():
        numbers[f"top1_{name}"] = f"{value:.1%}"
    for name, (value, clips) in scores.items():
        numbers[f"p_{name}"] = f"{chance_p_value(value, clips, chance):.0e}"
    return numbers


def layer_numbers(slopes: Sequence[float], shifts: Sequence[float],
                  authors: dict[float, tuple[float, float]]) -> dict[str, str]:
    """Where a learned layer started and ended, what a still pixel (D = 0) gets at the end, and the
    same for the authors' published values (``authors``: lambda -> (slope, shift))."""
    import math

    def still(slope: float, shift: float) -> str:
        return f"{1 / (1 + math.exp(slope * shift)):.3f}"  # sigmoid(a (0 - b))

    author_slopes = [a for a, _ in authors.values()]
    author_shifts = [b for _, b in authors.values()]
    return {"slope_start": f"{slopes[0]:.1f}", "slope_end": f"{slopes[-1]:.1f}",
            "shift_start": f"{shifts[0]:+.3f}", "shift_end": f"{shifts[-1]:+.3f}",
            "still_end": still(slopes[-1], shifts[-1]), "still_authors": still(*authors[0.0]),
            "authors_slopes": f"{min(author_slopes):.1f} to {max(author_slopes):.1f}",
            "authors_shifts": f"{min(author_shifts):+.2f} to {max(author_shifts):+.2f}"}


def recorded_numbers(by_input: dict[str, Sequence[float]], test_clips: int, chance: float,
                     baselines: Sequence[str] = ("frames", "difference")) -> dict[str, str]:
    """Over the recorded seeds of each input (paired by position): mean test top-1 (``mean_<input>``),
    the seeds in which VMP is ahead of each baseline (``wins_<baseline>``), the lowest run and the
    largest p-value against chance over every run."""
    values = [value for runs in by_input.values() for value in runs]
    numbers = {f"mean_{name}": f"{statistics.fmean(runs):.1%}" for name, runs in by_input.items()}
    for baseline in baselines:
        numbers[f"wins_{baseline}"] = str(sum(v > b for v, b in zip(by_input["vmp"], by_input[baseline])))
    numbers["seeds"] = str(len(by_input["vmp"]))
    numbers["lowest"] = f"{min(values):.1%}"
    numbers["largest_p"] = f"{largest_chance_p(by_input, test_clips, chance):.0e}"
    return numbers


def fine_tuning_run_facts(runs: dict[str, Any], test_clips: int, chance: float, records: dict | None = None,
                          guessing_set: Dataset | None = None) -> None:
    """Glue one fine-tuning run per input for a chapter's prose (:func:`single_run_numbers`) and
    check it: against the recorded seeds of the same recipe when ``records`` (the book profile,
    :func:`vmp.stats.agreement.check_fine_tuning`), otherwise every input above chance (p < 0.01).
    With ``guessing_set`` (clips no run trained, chose or was tested on), the check against
    guessing, and the glued ``p_<input>``, read each model's top-1 on it (``guess_top1_<input>``,
    ``guess_clips``) instead of the test split's."""
    from vmp.stats.agreement import CHANCE_LEVEL, check_fine_tuning
    from vmp.train import evaluate

    top1 = {name: run.test["top1"] for name, run in runs.items()}
    scores = {name: (value, test_clips) for name, value in top1.items()}
    if guessing_set is not None:
        scores = {name: (evaluate(run.model, guessing_set, batch_size=16)["top1"], len(guessing_set))
                  for name, run in runs.items()}
        glue_all({"guess_clips": str(len(guessing_set)),
                  **{f"guess_top1_{name}": f"{value:.1%}" for name, (value, _) in scores.items()}})
    glue_all(single_run_numbers(top1, scores, chance))
    if records is not None:
        check_fine_tuning(runs, records, chance=chance, chance_scores=scores)
    else:
        p_values = {name: chance_p_value(value, clips, chance) for name, (value, clips) in scores.items()}
        assert all(p < CHANCE_LEVEL for p in p_values.values()), f"an input is not above chance: {p_values}"


def top1_by_input(records: dict, inputs: Sequence[str] = ("frames", "difference", "vmp")) -> dict[str, list[float]]:
    """Test top-1 of each input's recorded seeds, in seed order (one backbone's part of ``finetune.json``)."""
    return {name: [run["test_top1"] for run in records["final"][name]] for name in inputs}


def recorded_seed_table(records: dict, inputs: Sequence[str] = ("frames", "difference", "vmp")) -> str:
    """:func:`seed_table` of one backbone's recorded fine-tuning seeds."""
    return seed_table([run for name in inputs for run in records["final"][name]], inputs)


def largest_chance_p(by_input: dict[str, Sequence[float]], test_clips: int, chance: float) -> float:
    """The largest p-value of guessing one's way to any recorded run: every run is above chance at that level."""
    return max(chance_p_value(value, test_clips, chance) for runs in by_input.values() for value in runs)


# tables a reader can take in --------------------------------------------------------------------------


def per_seed_table(values: dict[str, dict[int, float]]) -> str:
    """A Markdown table of one metric per configuration and seed (``{name: {seed: value}}``,
    fractions), one column per seed and the mean, rounded to a tenth of a point."""
    seeds = sorted({seed for by_seed in values.values() for seed in by_seed})
    rows = [[name] + [percent(by_seed[s]) if s in by_seed else "" for s in seeds]
            + [percent(statistics.fmean(by_seed.values()))] for name, by_seed in values.items()]
    return markdown_table(["input"] + [f"seed {s}" for s in seeds] + ["mean"], rows)


def interval_table(intervals: dict[tuple[str, str], Interval]) -> str:
    """A Markdown table of paired differences ``a - b`` (``{(a, b): Interval}``, fractions), in
    points with their confidence intervals, and what each says."""
    rows = [[f"{a} − {b}", f"{100 * i.mean:+.1f}", f"{100 * i.low:+.1f} to {100 * i.high:+.1f}",
             verdict(i, a, b)] for (a, b), i in intervals.items()]
    confidence = {f"{i.confidence:.0%}" for i in intervals.values()}
    return markdown_table(["difference", "mean (points)", f"{'/'.join(sorted(confidence))} interval",
                           "verdict"], rows)


def selection_table(records: dict) -> str:
    """How ``benchmarks/finetune.py`` chose a backbone's recipe (one backbone's part of
    ``finetune.json``), as a Markdown table: each candidate's validation top-1 at seed 0, rounded,
    and the one kept. The learning rate is judged on the mean over ``select_inputs``; the layer's
    own rate on the VMP run (``None``: the backbone's rate)."""
    chosen, selection = records["chosen"], records["selection"]
    inputs = records.get("select_inputs", ["frames", "difference", "vmp"])
    rows = []
    judged = f"mean over {', '.join(inputs)}" if len(inputs) > 1 else f"{inputs[0]} input"
    for key, what in (("lr", f"learning rate ({judged})"),
                      ("prompt_lr", "the layer's learning rate (VMP)")):
        for candidate, value in selection[key].items():
            shown = f"{float(candidate):g}" if candidate != "None" else f"the backbone's ({chosen['lr']:g})"
            kept = "✓" if str(chosen[key]) == candidate else ""
            rows.append([what, shown, percent(value), kept])
    return markdown_table(["choice", "candidate", "validation top-1 (seed 0)", "kept"], rows)


# the layer's speed benchmark (benchmarks/bench_motion_prompt.py) -------------------------------------


def read_speed_benchmark(text: str) -> dict[str, dict[str, dict[str, float]]]:
    """The printout of ``benchmarks/bench_motion_prompt.py`` as numbers: for each allocation regime
    (``"glibc default"``, ``"freed memory reused"``), ``times_ms`` (median per contender),
    ``ratios`` (name -> x) and ``memory`` (peak in units of what the layer returns)."""
    import re

    regimes: dict[str, dict[str, dict[str, float]]] = {}
    section = None
    for line in text.splitlines():
        header = re.match(r"== allocation regime: (.+) ==", line)
        if header:
            current = regimes.setdefault(header.group(1), {"times_ms": {}, "ratios": {}, "memory": {}})
            section = "times_ms"
            continue
        if not regimes or not line.strip():
            continue
        if line.startswith("ratios"):
            section = "ratios"
        elif line.startswith("extra peak memory"):
            section = "memory"
        elif line.startswith("power normalisations"):
            section = None
        elif line.startswith("  ") and section is not None:
            unit = "ms" if section == "times_ms" else "x"
            found = re.match(rf"\s+(.+?)\s+([\d.]+) ?{unit}\b", line)
            if found and not found.group(1).startswith("in units"):
                current[section][found.group(1)] = float(found.group(2))
    if not regimes:
        raise ValueError("no '== allocation regime: ... ==' section in the benchmark's output")
    return regimes
