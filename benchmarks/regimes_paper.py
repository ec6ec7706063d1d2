"""The regimes study's fifth amendment: the confirmatory arm trained as the paper trains.

The layer starts from the paper's random draw (m, n ~ N(1e-5, 1), one draw per seed), λ is chosen
on validation per backbone first, and every run stops when validation stops rising and is tested
with its best validation epoch's weights. Run through ``benchmarks/regimes.py --stage paper``;
records go to their own file (``results/regimes_paper.jsonl``), so no earlier analysis reads them.
``benchmarks/regimes_plan.md`` fixes the design; a record also says when it ran and under which
commit of that plan.
"""

from __future__ import annotations

import dataclasses
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple

import torch

from vmp import regimes
from vmp.checkpoint import append_record, read_records
from vmp.experiment import get_profile, load_splits, synthetic_key, train_and_test
from vmp.models import SPECS
from vmp.prompt import shift_from_n, slope_from_m
from vmp.regimes import attention_below, still_attention
from vmp.regimes_design import (
    CLASS_SEED,
    CLASSES,
    CONDITIONS,
    DATA_SEED,
    PAPER_BACKBONES,
    PAPER_REGIMES,
    PAPER_SEEDS,
    PAPER_SELECTION_SEEDS,
    PAPER_TAV_WEIGHTS,
    REGIMES,
    PaperRecord,
    paper_draw,
    paper_inputs,
    study_config,
)
from vmp.train import EarlyStopping

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "regimes_paper.jsonl"
sys.path.insert(0, str(ROOT / "tools"))
from date_records import plan_now  # noqa: E402  (the tools' git helpers)

BACKBONES = PAPER_BACKBONES
#: The confirmatory seeds (``vmp.regimes_design``) and the seeds λ is chosen on (two, for the
#: budget: the plan's fifth amendment).
SEEDS = PAPER_SEEDS
SELECTION_SEEDS = PAPER_SELECTION_SEEDS
#: The authors' λ values the choice is made from (their project page lists 0 to 10).
TAV_WEIGHTS = PAPER_TAV_WEIGHTS
#: The early-stopping rule: at most three times the book's 8 epochs, stop after PATIENCE epochs
#: without a rise of MIN_DELTA (0.5 points: two of the 300 validation clips).
MAX_EPOCHS, PATIENCE, MIN_DELTA = 24, 5, 0.005
#: What a record keeps of each epoch.
HISTORY_KEYS = ("epoch", "lr", "val_top1", "train_ce", "train_tav", "slope", "shift")


class PaperCell(NamedTuple):
    """One run of the arm: ``step`` is "lambda" (choosing λ) or "grid" (the confirmatory runs);
    ``tav_weight`` None means the λ chosen for the backbone."""

    step: str
    backbone: str
    input: str
    seed: int
    regime: str = "base"
    tav_weight: float | None = 0.0


def paper_cells(backbones: tuple[str, ...] = BACKBONES) -> list[PaperCell]:
    """Every run, in order: λ's selection first, then seed-major (each seed's every backbone,
    regime and input before the next seed), so a partial sweep is balanced."""
    cells = [PaperCell("lambda", b, "vmp", seed, "base", weight)
             for seed in SELECTION_SEEDS for b in backbones for weight in TAV_WEIGHTS]
    cells += [PaperCell("grid", b, input, seed, regime, None if input.startswith("vmp") else 0.0)
              for seed in SEEDS for b in backbones for regime in PAPER_REGIMES for input in paper_inputs(regime, seed)]
    return cells


def chosen_tav_weight(records: list[dict], backbone: str) -> float:
    """λ chosen on validation for ``backbone`` (``vmp.regimes.chosen_tav_weight``); stops the sweep
    while λ's selection is unfinished."""
    try:
        return regimes.chosen_tav_weight(records, backbone)
    except ValueError as unfinished:
        raise SystemExit(str(unfinished)) from None


def utc_now() -> str:
    """The wall-clock time in ISO 8601, UTC, to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def run_cell(cell: PaperCell, records: list[PaperRecord]) -> PaperRecord:
    """Train and test one cell with early stopping; its record."""
    fields = {**CONDITIONS, **REGIMES[cell.regime]}
    config = study_config(fields["nuisance"], fields["shortcut"], DATA_SEED)
    profile = dataclasses.replace(get_profile("book"), synthetic=config)
    splits = load_splits(profile, SPECS[cell.backbone].layout).subset(CLASSES, fields["labels_per_class"],
                                                                      seed=CLASS_SEED)
    layer = cell.input.startswith("vmp")
    tav_weight = cell.tav_weight if cell.tav_weight is not None else chosen_tav_weight(records, cell.backbone)
    m, n = paper_draw(cell.seed)
    options: dict = {"train_changes": {"eval_batch_size": 32, "epochs": MAX_EPOCHS}}
    if layer:
        options.update(prompt_init=(m, n), learn_prompt=cell.input == "vmp", tav_weight=tav_weight)
    stopper = EarlyStopping(PATIENCE, MIN_DELTA)
    plan, plan_modified = plan_now()
    started, clock, cpu = utc_now(), time.perf_counter(), time.process_time()
    result = train_and_test(cell.backbone, profile, splits, input="vmp" if layer else cell.input, seed=cell.seed,
                            early_stopping=stopper, **options)
    activity = {"final": None, "attention_below_half": None, "still_attention": None}
    if layer:
        slope, shift = (result.model.prompt.learned()[key] for key in ("slope", "shift"))
        activity = {"final": [slope, shift], "attention_below_half": attention_below(result.model, splits.test),
                    "still_attention": still_attention(slope, shift)}
    start = [float(slope_from_m(torch.tensor(m))), float(shift_from_n(torch.tensor(n)))] if layer else None
    return {
        "stage": "paper_lambda" if cell.step == "lambda" else "paper", "backbone": cell.backbone,
        "input": cell.input, "seed": cell.seed, "regime": cell.regime, **fields, "tav_weight": tav_weight,
        "draw": [m, n], "start": start,
        "data_seed": DATA_SEED, "synthetic_key": synthetic_key(config), "val_clips": len(splits.val),
        "val_top1": stopper.best, "test_top1": result.test["top1"], "test_correct": result.test["correct"],
        "val_curve": [epoch["val_top1"] for epoch in result.history],
        "history": [{key: epoch.get(key) for key in HISTORY_KEYS} for epoch in result.history],
        "max_epochs": MAX_EPOCHS, "patience": PATIENCE, "min_delta": MIN_DELTA,
        "epochs_trained": len(result.history), "best_epoch": stopper.best_epoch, "stopped_epoch": stopper.stopped_epoch,
        **activity,
        "started": started, "ended": utc_now(), "seconds": round(time.perf_counter() - clock, 1),
        "cpu_seconds": round(time.process_time() - cpu, 1), "threads": torch.get_num_threads(),
        "plan_commit": plan, "plan_modified": plan_modified, "cell": list(cell),
    }


def sweep(out: Path = RESULTS, backbones: tuple[str, ...] = BACKBONES, limit: int | None = None,
          seeds: list[int] | None = None, inputs: list[str] | None = None, regimes: list[str] | None = None,
          dry_run: bool = False) -> None:
    """Run the cells not yet recorded in ``out``, in the plan's order (a rerun resumes)."""
    records = read_records(out)
    done = {tuple(r["cell"]) for r in records}
    cells = [c for c in paper_cells(tuple(backbones)) if tuple(c) not in done and (seeds is None or c.seed in seeds)
             and (inputs is None or c.input in inputs) and (regimes is None or c.regime in regimes)]
    if dry_run:
        seconds = {b: [r["seconds"] for r in records if r["backbone"] == b] for b in backbones}
        estimate = sum(statistics.median(seconds[c.backbone]) if seconds[c.backbone] else float("nan") for c in cells)
        print(f"{len(cells)} runs left in stage 'paper'; about {estimate / 3600:.1f} h at the median run time")
        return
    for cell in cells[:limit]:
        records = read_records(out)  # λ is read from the records as they stand
        record = run_cell(cell, records)
        append_record(out, record)
        print({key: record[key] for key in ("stage", "backbone", "input", "seed", "regime", "tav_weight", "val_top1",
                                            "test_top1", "epochs_trained", "best_epoch", "seconds", "cpu_seconds")},
              flush=True)
