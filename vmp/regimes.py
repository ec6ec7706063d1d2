"""The regimes study's analysis: its primary questions answered from the run records, adjusted for
asking six of them (``benchmarks/regimes_plan.md`` fixes the questions and this analysis).

A record is one run as ``benchmarks/regimes.py`` writes it (``backbone``, ``input``, ``seed``, the
regime's fields, ``test_correct``...). A side of a question is a set of field values; its runs are
paired with the other side's by backbone and seed, clip by clip.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import dataclasses

import numpy as np
from vmp.bootstrap import Bootstrap, cluster_bootstrap, per_clip_differences
from vmp.data.synth import NUISANCE, SynthConfig
from vmp.experiment import get_profile
from vmp.report import holm_adjusted

#: The study's data: synthetic seed 1 (the book's benchmark is seed 0, the gate's data seed 2).
DATA_SEED, GATE_SEED = 1, 2
#: Clips per class in training, validation and test: 300 validation and 600 test clips over 6 classes.
SPLIT_CLIPS = (100, 50, 100)
#: The book's 6 of the 8 rendered classes, chosen by the same seed as in chapters 6-10.
CLASSES, CLASS_SEED = 6, 0

BACKBONES = ("tiny3d", "slowfast_r50", "x3d_xs", "timesformer")
BASE = {"labels_per_class": 30, "nuisance": "heavy", "shortcut": "none", "pretrained": True, "tav_weight": 0.0}


def study_config(nuisance: str = "heavy", shortcut: str = "none", data_seed: int = DATA_SEED) -> SynthConfig:
    """The benchmark a regime reads: the book's clip format, the study's seed and split sizes."""
    book = get_profile("book").synthetic
    return dataclasses.replace(book, seed=data_seed, split_clips=SPLIT_CLIPS, distractors=NUISANCE[nuisance],
                               shortcut=shortcut)


@dataclass(frozen=True)
class Question:
    """``a`` minus ``b`` in test top-1, each a set of record fields, averaged over ``backbones``."""

    name: str
    text: str
    a: dict
    b: dict
    backbones: tuple[str, ...] = BACKBONES


#: The runs of the regimes (the start stage's runs answer only the start question).
SWEEP = {"stage": ("regimes", "primary")}


def _base(**changes) -> dict:
    return {**BASE, **SWEEP, **changes}


#: The six primary questions of the plan.
PRIMARY = (
    Question("base", "VMP - frames, base regime", _base(input="vmp"), _base(input="frames")),
    Question("few_labels", "VMP - frames, 5 labels per class", _base(input="vmp", labels_per_class=5),
             _base(input="frames", labels_per_class=5)),
    Question("scene", "VMP - frames, scene shortcut", _base(input="vmp", shortcut="scene"),
             _base(input="frames", shortcut="scene")),
    Question("appearance", "VMP - frames, appearance shortcut", _base(input="vmp", shortcut="appearance"),
             _base(input="frames", shortcut="appearance")),
    Question("learned_vs_fixed", "VMP - RGB differences, base regime", _base(input="vmp"),
             _base(input="difference")),
    Question("start", "VMP from shift -0.3 - VMP from +0.1, base regime",
             _base(input="vmp", start_shift=-0.3, stage="start"), _base(input="vmp", start_shift=0.1, stage="start"),
             ("tiny3d", "slowfast_r50")),
)


def matches(record: dict, fields: dict) -> bool:
    """Whether a run has every field value (``start_shift`` is the shift of its ``start``; a tuple
    of values admits any of them)."""
    for key, value in fields.items():
        have = record["start"][1] if key == "start_shift" and record.get("start") else record.get(key)
        if isinstance(value, tuple):
            if have not in value:
                return False
        elif isinstance(value, float) and isinstance(have, (int, float)):
            if abs(have - value) > 1e-9:
                return False
        elif have != value:
            return False
    return True


def _by_seed(records: Sequence[dict], backbone: str, fields: dict) -> dict[int, dict]:
    runs = {}
    for record in records:
        if record["backbone"] == backbone and matches(record, fields):
            if record["seed"] in runs:
                raise ValueError(f"two runs of {backbone} seed {record['seed']} match {fields}")
            runs[record["seed"]] = record
    return runs


def paired_differences(records: Sequence[dict], question: Question, backbone: str) -> np.ndarray | None:
    """``(seeds, clips)`` per-clip differences a - b of one backbone, paired by seed; None without runs."""
    a, b = _by_seed(records, backbone, question.a), _by_seed(records, backbone, question.b)
    seeds = sorted(set(a) & set(b))
    if not seeds:
        return None
    for seed in seeds:
        if a[seed]["synthetic_key"] != b[seed]["synthetic_key"]:
            raise ValueError(f"{question.name}, {backbone} seed {seed}: the two sides were tested on other clips")
    return per_clip_differences([a[s]["test_correct"] for s in seeds], [b[s]["test_correct"] for s in seeds])


@dataclass
class Answer:
    """One question's estimate (points), bootstrap, Holm-adjusted p and interval."""

    question: Question
    backbones: list[str]
    bootstrap: Bootstrap
    adjusted_p: float = 1.0
    level: float = 0.95
    interval: tuple[float, float] = field(default=(0.0, 0.0))

    @property
    def resolved(self) -> bool:
        return self.interval[0] > 0 or self.interval[1] < 0

    def wording(self) -> str:
        """What the adjusted interval allows: ahead or behind only when it excludes zero."""
        low, high = (100 * v for v in self.interval)
        if low > 0:
            return f"{self.question.text}: ahead by {100 * self.bootstrap.estimate:.1f} points ({low:+.1f} to {high:+.1f})"
        if high < 0:
            return f"{self.question.text}: behind by {-100 * self.bootstrap.estimate:.1f} points ({low:+.1f} to {high:+.1f})"
        return f"{self.question.text}: no resolved difference ({low:+.1f} to {high:+.1f} points)"


def answer(records: Sequence[dict], questions: Sequence[Question] = PRIMARY, resamples: int = 10_000,
           family_level: float = 0.05) -> list[Answer]:
    """Each question with runs: its two-level bootstrap, Holm's adjusted p-value, and the interval
    at the level Holm tests it at (1 - family_level / (m - rank + 1))."""
    answers = []
    for number, question in enumerate(questions):
        differences = {b: paired_differences(records, question, b) for b in question.backbones}
        present = [b for b, d in differences.items() if d is not None]
        if present:
            answers.append(Answer(question, present,
                                  cluster_bootstrap([differences[b] for b in present], resamples, seed=number)))
    adjusted = holm_adjusted({a.question.name: a.bootstrap.p_value for a in answers})
    order = sorted(answers, key=lambda a: a.bootstrap.p_value)
    for rank, item in enumerate(order):
        item.adjusted_p = adjusted[item.question.name]
        item.level = 1 - family_level / (len(order) - rank)
        item.interval = item.bootstrap.interval(item.level)
    return answers


def detectable(answer_: Answer, power: float = 0.8) -> float:
    """The smallest true difference (a fraction) this question detects with ``power`` at its Holm level."""
    return answer_.bootstrap.detectable(1 - answer_.level, power)
