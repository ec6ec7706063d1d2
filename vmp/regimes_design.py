"""The regimes study's design, defined once for its sweeps (``benchmarks/regimes.py``,
``benchmarks/regimes_paper.py``) and its analysis (:mod:`vmp.regimes`): the data, the conditions a
regime changes, the regimes, and the record each run writes (one JSON line).
"""

from __future__ import annotations

import dataclasses
from typing import Optional, TypedDict

import torch

from vmp.data.synth import NUISANCE, SynthConfig
from vmp.experiment import get_profile

#: The study's data: synthetic seed 1 (the book's benchmark is seed 0, the gate's data seed 2).
DATA_SEED, GATE_SEED = 1, 2
#: Clips per class in training, validation and test: 300 validation and 600 test clips over 6 classes.
SPLIT_CLIPS = (100, 50, 100)
#: The book's 6 of the 8 rendered classes, chosen by the same seed as in chapters 6-10.
CLASSES, CLASS_SEED = 6, 0

BACKBONES = ("tiny3d", "slowfast_r50", "x3d_xs", "timesformer")
#: The base regime's conditions: the factors a regime changes, one at a time.
CONDITIONS = {"labels_per_class": 30, "nuisance": "heavy", "shortcut": "none", "pretrained": True}
#: The base runs the analysis reads: the base conditions, the layer trained without the TAV loss
#: (the sweeps choose ``tav_weight`` per run and record it).
BASE = {**CONDITIONS, "tav_weight": 0.0}
#: Each regime: the base with one factor changed.
REGIMES = {
    "base": {},
    **{f"labels_{n}": {"labels_per_class": n} for n in (5, 10, 100)},
    **{f"nuisance_{kind}": {"nuisance": kind} for kind in ("still", "sensor", "shake", "distractors")},
    "scene": {"shortcut": "scene"},
    "appearance": {"shortcut": "appearance"},
    "scratch": {"pretrained": False},
}
#: The regimes the primary questions read (X3D and TimeSformer run only these).
PRIMARY_REGIMES = ("base", "labels_5", "scene", "appearance")
#: The fifth amendment's arm, trained as the paper trains (``benchmarks/regimes_paper.py``): its
#: backbones, its confirmatory seeds (no earlier stage used them), its regimes, and where the frozen
#: layer runs beside the learned one (the base regime, the first five seeds, for the budget).
PAPER_BACKBONES = ("tiny3d", "slowfast_r50")
PAPER_SEEDS = tuple(range(10, 20))
PAPER_REGIMES = PRIMARY_REGIMES
FROZEN_REGIMES, FROZEN_SEEDS = ("base",), PAPER_SEEDS[:5]
#: λ is chosen first, per backbone in the base regime, from four of the authors' values (their
#: project page lists 0 to 10), on two selection seeds of their own (two, for the budget).
PAPER_TAV_WEIGHTS = (0.0, 0.1, 0.5, 1.0)
PAPER_SELECTION_SEEDS = (20, 21)


def paper_inputs(regime: str, seed: int) -> tuple[str, ...]:
    """The inputs the paper arm runs in one regime with one seed: frames and the learned layer, and
    the frozen layer where planned."""
    frozen = regime in FROZEN_REGIMES and seed in FROZEN_SEEDS
    return ("frames", "vmp", "vmp_frozen") if frozen else ("frames", "vmp")


def study_config(nuisance: str = "heavy", shortcut: str = "none", data_seed: int = DATA_SEED) -> SynthConfig:
    """The benchmark a regime reads: the book's clip format, the study's seed and split sizes."""
    book = get_profile("book").synthetic
    return dataclasses.replace(book, seed=data_seed, split_clips=SPLIT_CLIPS, distractors=NUISANCE[nuisance],
                               shortcut=shortcut)


class RunRecord(TypedDict, total=False):
    """One run as ``benchmarks/regimes.py`` writes it (``recipe`` and ``source`` only in later stages)."""

    stage: str
    backbone: str
    input: str
    seed: int
    labels_per_class: int
    nuisance: str
    shortcut: str
    pretrained: bool
    start: Optional[list[float]]  # [slope, shift] the layer started from; None without the layer
    tav_weight: float
    gate: Optional[float]
    data_seed: int
    synthetic_key: str  # which clips it was tested on: runs are paired only on the same key
    val_top1: float
    test_top1: float
    test_correct: list[int]  # one 0/1 per test clip, in the test split's order
    history: list[dict]
    final: Optional[list[Optional[float]]]  # the layer's final [slope, shift]
    seconds: float
    cell: list
    recipe: Optional[str]
    source: str


class PaperRecord(RunRecord, total=False):
    """One run of the paper arm (``benchmarks/regimes_paper.py``): early stopping, a drawn start."""

    regime: str
    draw: list[float]
    val_clips: int
    val_curve: list[float]
    max_epochs: int
    patience: int
    min_delta: float
    epochs_trained: int
    best_epoch: int
    stopped_epoch: Optional[int]
    attention_below_half: Optional[float]
    still_attention: Optional[float]
    started: str
    ended: str
    cpu_seconds: float
    threads: int
    plan_commit: str
    plan_modified: bool


def paper_draw(seed: int) -> tuple[float, float]:
    """The paper arm's (m, n) for a seed, drawn as the paper does (each N(1e-5, 1)) from a generator
    of its own: the same draw for every backbone, regime and input of the seed."""
    m, n = (torch.randn(2, generator=torch.Generator().manual_seed(seed)) + 1e-5).tolist()
    return m, n
