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

#: How far a run may land outside the range of its recorded seeds, measured by
#: ``benchmarks/cpu_spread.py`` (chapters 6-10 on this machine's AVX-512 path, as an AVX2 CPU and
#: as one without vector units): on X3D and TimeSformer a run moved by up to 8 of the 60 test clips
#: between code paths, as much as another seed moves it, and landed at most 8 clips (0.133) outside
#: its three recorded seeds; the final slope at most 4.45 outside, the shift 0.038. Each tolerance
#: is 1.5 times that: 12 clips (0.20), 7 for the slope, 0.06 for the shift.
TOP1_TOLERANCE = 0.20
SLOPE_TOLERANCE = 7.0
SHIFT_TOLERANCE = 0.06


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


def check_fine_tuning(runs: dict, records: dict) -> None:
    """A chapter's fine-tuning runs (:func:`vmp.experiment.compare_inputs`) against the recorded
    seeds of the same recipe (``records``: one backbone's part of ``finetune.json``): every
    input's test top-1, and the VMP layer's final slope and shift."""
    final = records["final"]
    for name, run in runs.items():
        check_against_records(name, run.test["top1"], [r["test_top1"] for r in final[name]])
    if "vmp" in runs:
        last = runs["vmp"].history[-1]
        check_against_records("slope", last["slope"], [r["slope"][-1] for r in final["vmp"]], SLOPE_TOLERANCE,
                              percent=False)
        check_against_records("shift", last["shift"], [r["shift"][-1] for r in final["vmp"]], SHIFT_TOLERANCE,
                              percent=False)
