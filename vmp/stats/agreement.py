"""One training run against the book's committed records, judged the same way on every machine.

Training lands a clip or two elsewhere on another CPU, on a GPU or with another torch: float sums
are added in another order. So the book states what training produces from its multi-seed
records, and checks a chapter's own run against them with a tolerance: the run must fall inside
the range of the recorded seeds, widened by the tolerance. On the reference run (a CPU, where the
book's records were made) a run outside that band is a regression and raises; on a GPU, with its
float16 arithmetic, the reader is told both numbers instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from vmp.stats.significance import chance_p_value

#: The binomial level a single run's test top-1 must beat chance at, besides agreeing with the records.
CHANCE_LEVEL = 0.01


@dataclass(frozen=True)
class Tolerance:
    """How far one run may land outside the range of its recorded seeds: test top-1 (a share of the
    test clips), the layer's final slope and its final shift."""

    top1: float
    slope: float
    shift: float


#: Per backbone, from ``benchmarks/stochastic_margins.py tolerances``: at least twice the recorded
#: seeds' standard deviation (pooled over the inputs for top-1) and twice the farthest any run
#: measured on another code path or thread count landed outside its recorded seeds, rounded up
#: (top-1 to whole clips of 60). Measured cases: one thread moved TimeSformer's shift 0.164 past its
#: seeds, and the path without vector units put X3D's frames run 8 clips below its seeds.
#: ``tests/test_agreement.py`` keeps each at least what is measured and not wider.
TOLERANCES: dict[str, Tolerance] = {
    "tiny3d": Tolerance(top1=10 / 60, slope=3.9, shift=0.058),
    "slowfast_r50": Tolerance(top1=10 / 60, slope=3.9, shift=0.011),
    "x3d_xs": Tolerance(top1=16 / 60, slope=30.0, shift=0.076),
    "timesformer": Tolerance(top1=5 / 60, slope=25.0, shift=0.33),
}
#: Tiny3D's, which chapters 6 and 10 check their runs with.
TOP1_TOLERANCE, SLOPE_TOLERANCE, SHIFT_TOLERANCE = (TOLERANCES["tiny3d"].top1, TOLERANCES["tiny3d"].slope,
                                                    TOLERANCES["tiny3d"].shift)


def reference_run() -> bool:
    """True where the book's assertions about training are enforced: a run on the CPU."""
    return not torch.cuda.is_available()


@dataclass(frozen=True)
class Agreement:
    """Where one run's number stands against the recorded runs of the same configuration."""

    name: str
    yours: float
    recorded: tuple[float, ...]
    tolerance: float
    percent: bool = True

    @property
    def low(self) -> float:
        low = min(self.recorded) - self.tolerance
        return max(0.0, low) if self.percent else low  # an accuracy stays within [0, 1]

    @property
    def high(self) -> float:
        high = max(self.recorded) + self.tolerance
        return min(1.0, high) if self.percent else high

    @property
    def agrees(self) -> bool:
        return self.low - 1e-9 <= self.yours <= self.high + 1e-9  # 33/60 is at the edge of 0.65 - 0.10

    def _format(self, value: float) -> str:
        return f"{100 * value:.1f}%" if self.percent else f"{value:+.3f}" if abs(value) < 1 else f"{value:.2f}"

    def line(self) -> str:
        """``"vmp: your run 65.0%; the book's 5 seeds 58.3% to 86.7% (band 48.3% to 96.7%): agrees"``."""
        if len(self.recorded) == 1:
            book = f"the book's run {self._format(self.recorded[0])}"
        else:
            book = (f"the book's {len(self.recorded)} seeds {self._format(min(self.recorded))} to "
                    f"{self._format(max(self.recorded))}")
        verdict = "agrees" if self.agrees else "outside the band"
        return (f"{self.name}: your run {self._format(self.yours)}; {book} "
                f"(band {self._format(self.low)} to {self._format(self.high)}): {verdict}")


def check_against_records(name: str, yours: float, recorded: Sequence[float], tolerance: float = TOP1_TOLERANCE,
                          percent: bool = True, strict: bool | None = None) -> Agreement:
    """Print how ``yours`` compares with the ``recorded`` seeds; raise only on the reference run.

    ``strict`` defaults to :func:`reference_run`: a CPU run outside the band is a regression (an
    ``AssertionError`` naming both numbers); on a GPU the line is printed and the chapter goes on.
    """
    recorded = tuple(float(value) for value in recorded)
    if not recorded:
        raise ValueError(f"no recorded runs to compare {name!r} with")
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    agreement = Agreement(name, float(yours), recorded, tolerance, percent)
    print(agreement.line())
    strict = reference_run() if strict is None else strict
    if strict and not agreement.agrees:
        raise AssertionError(agreement.line())
    return agreement


def check_above_chance(name: str, top1: float, test_clips: int, chance: float, strict: bool | None = None) -> float:
    """Print the one-sided binomial p-value of ``top1`` on ``test_clips`` clips against guessing; on
    the reference run raise unless it is below :data:`CHANCE_LEVEL` (a run that learned nothing
    must fail, however wide the band around the records)."""
    p_value = chance_p_value(top1, test_clips, chance)
    line = f"{name}: p = {p_value:.0e} against guessing ({chance:.1%} chance, {test_clips} clips)"
    print(line)
    strict = reference_run() if strict is None else strict
    if strict and not p_value < CHANCE_LEVEL:
        raise AssertionError(f"{line}: not above chance at {CHANCE_LEVEL}")
    return p_value


def check_fine_tuning(runs: dict, records: dict, test_clips: int | None = None, chance: float | None = None,
                      chance_scores: dict[str, tuple[float, int]] | None = None) -> None:
    """A chapter's fine-tuning runs (:func:`vmp.experiment.compare_inputs`) against the recorded
    seeds of the same recipe (``records``: one backbone's part of ``finetune.json``, with its
    ``backbone``): every input above chance (its test top-1 on ``test_clips``, or its
    ``chance_scores`` (top-1, clips) on other held-out clips; when ``chance`` is given) and its test
    top-1 within the backbone's :data:`TOLERANCES` of the records, and the VMP layer's final slope
    and shift within theirs."""
    final = records["final"]
    tolerance = TOLERANCES[records.get("backbone", "tiny3d")]
    for name, run in runs.items():
        if chance is not None and chance_scores is not None:
            check_above_chance(name, *chance_scores[name], chance)
        elif test_clips is not None and chance is not None:
            check_above_chance(name, run.test["top1"], test_clips, chance)
        check_against_records(name, run.test["top1"], [r["test_top1"] for r in final[name]], tolerance.top1)
    if "vmp" in runs:
        last = runs["vmp"].history[-1]
        check_against_records("slope", last["slope"], [r["slope"][-1] for r in final["vmp"]], tolerance.slope,
                              percent=False)
        check_against_records("shift", last["shift"], [r["shift"][-1] for r in final["vmp"]], tolerance.shift,
                              percent=False)
