"""When do motion prompts help? The regimes study of ``benchmarks/regimes_plan.md``, resumable.

    python benchmarks/regimes.py --stage gate                      # 1. the gated baseline's threshold
    python benchmarks/regimes.py --stage start --backbone tiny3d   # 2. the layer's starting shift
    python benchmarks/regimes.py --stage regimes --backbone tiny3d # 3. every regime, every input
    python benchmarks/regimes.py --stage primary --backbone x3d_xs # 4. the primary regimes only
    python benchmarks/regimes.py --stage source                    # 5. the directed source task's checkpoint
    python benchmarks/regimes.py --stage confirm --backbone tiny3d slowfast_r50  # 6. the from-scratch lead, again
    python benchmarks/regimes.py --stage paper                     # 7. trained as the paper trains (regimes_paper.py)
    python benchmarks/regimes.py --stage gate --backbone tiny3d slowfast_r50  # 8. each backbone's own gate
    python benchmarks/regimes.py --stage gate_again --backbone tiny3d slowfast_r50  # 9. gated runs at it
    python benchmarks/regimes.py --stage source_control            # 10. the clean source control (source_control.py)
    python benchmarks/regimes.py --stage start --dry-run           # what a stage would run, and how long

One JSON line per run goes to ``benchmarks/results/regimes.jsonl`` (the fields the plan lists,
per-clip test results included); a run already there is skipped, so a killed sweep resumes where it
stopped. Choices follow the plan: the gate and the base start are read from the file's own records
(validation only) when a later stage needs them. Run nothing else meanwhile: two PyTorch processes
on two cores slow each other down five- to tenfold.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import time
from pathlib import Path
from typing import NamedTuple

import regimes_paper
import torch
from source_control import FOLDERS as SOURCE_CONTROL_FOLDERS
from timesformer import RECIPES as TIMESFORMER_RECIPES
from timesformer import RESULTS as TIMESFORMER_RESULTS
from timesformer import chosen_recipe
from timesformer import runs_left as timesformer_runs_left

from vmp import regimes as study
from vmp.checkpoint import append_record, read_records
from vmp.experiment import get_profile, load_splits, synthetic_key, train_and_test
from vmp.models import SPECS
from vmp.prompt import m_n_for
from vmp.regimes_design import (
    CLASS_SEED,
    CLASSES,
    CONDITIONS,
    DATA_SEED,
    GATE_SEED,
    PRIMARY_REGIMES,
    REGIMES,
    RunRecord,
    study_config,
)

RESULTS = Path(__file__).resolve().parent / "results" / "regimes.jsonl"
SEEDS = (0, 1, 2, 3, 4)
INPUTS = ("frames", "difference", "gated", "stacked", "vmp", "vmp_frozen")
SLOPE = 30.0
START_SHIFTS = (-0.3, -0.15, 0.0, 0.1, 0.3)
FORMER_START = 0.1  # the book's DEFAULT_START shift before this study
GATES = (0.05, 0.1, 0.15, 0.2, 0.3)
#: The plan's sixth amendment: the grid goes on past its former edge (Tiny3D chose 0.3, the largest),
#: and each backbone chooses its own threshold; gated runs made at GATE_USED are made again at a
#: backbone's own choice when it differs.
MORE_GATES, GATE_USED = (0.4, 0.5), 0.3


class Cell(NamedTuple):
    """One run of the study: everything that defines it."""

    backbone: str
    input: str
    seed: int
    labels_per_class: int = CONDITIONS["labels_per_class"]  # the study's conditions, defined once
    nuisance: str = CONDITIONS["nuisance"]
    shortcut: str = CONDITIONS["shortcut"]
    pretrained: bool = CONDITIONS["pretrained"]
    shift: float | None = None  # the layer's starting shift (VMP inputs); None: the chosen base start
    tav_weight: float = 0.0
    gate: float | None = None  # gated only; None: the chosen threshold
    data_seed: int = DATA_SEED
    source: str = "pooled"  # the checkpoint's source task: the book's ("pooled") or the "directed" control

    def key(self) -> tuple:
        """What identifies the run in the records (the source task only when it is not the book's)."""
        return tuple(self) if self.source != "pooled" else tuple(self)[:-1]


#: The plan's amendment: the exploratory regimes run frames and VMP with three seeds.
EXPLORATORY_SEEDS = (0, 1, 2)
#: The inputs each regime runs (all six in the base regime; frames and VMP elsewhere).
REGIME_INPUTS = {name: INPUTS if name == "base" else ("frames", "vmp") for name in REGIMES}
PRIMARY_INPUTS = {name: ("frames", "vmp") for name in PRIMARY_REGIMES}
#: The plan's third amendment, for the budget: TimeSformer (about 4 minutes a run) runs the base and
#: 5-label regimes only; the shortcut questions average over the other three backbones.
PRIMARY_REGIMES_OF = {"timesformer": ("base", "labels_5")}
#: Added after the regimes stage showed the frames falling to chance under the scene shortcut and
#: VMP from the chosen start staying close to the frames: does an input that blanks still pixels
#: resist the shortcuts? The gated baseline and VMP started at +0.3. Exploratory.
POST_HOC_INPUTS = (("gated", None), ("vmp", 0.3))
#: Checkpoints pretrained on a source task other than the book's (benchmarks/directed_source.py).
SOURCE_CHECKPOINTS = {"directed": Path(__file__).resolve().parent / "results" / "directed_source",
                      **{name: folder for name, folder in SOURCE_CONTROL_FOLDERS.items() if name != "pooled_s0"}}
#: The sixth amendment's clean source control: each new checkpoint (pooled seeds 1-2, diagonal seeds
#: 0-2; pooled seed 0 is the book's, whose base-regime runs exist) fine-tuned with three seeds.
SOURCE_CONTROL = tuple(name for name in SOURCE_CONTROL_FOLDERS if name != "pooled_s0")
#: The plan's fourth amendment, after every planned run: the one exploratory lead (VMP ahead of the
#: frames from scratch) asked again as a single confirmatory question, on fresh seeds and on test
#: clips drawn from a benchmark seed no earlier run used.
CONFIRM_SEEDS = (5, 6, 7, 8, 9)
CONFIRM_DATA_SEED = 3
#: Runs of the start stage: both backbones, both λ, every start shift, every seed.
START_RUNS = 2 * 2 * len(START_SHIFTS) * len(SEEDS)


def chosen_gate(records: list[dict], backbone: str = "tiny3d") -> float:
    """The gate threshold with the best mean validation top-1 in one backbone's gate stage
    (``vmp.regimes.chosen_gate``); stops the sweep while that stage has no runs."""
    if not any(r["stage"] == "gate" and r["backbone"] == backbone for r in records):
        raise SystemExit(f"no gate-stage runs of {backbone} yet: run --stage gate --backbone {backbone} first")
    return study.chosen_gate(records, backbone)


def chosen_start(records: list[dict]) -> float:
    """The starting shift with the best mean validation top-1 at λ = 0 over the start stage's backbones."""
    runs = [r for r in records if r["stage"] == "start" and r["tav_weight"] == 0]
    if not runs:
        raise SystemExit("no start-stage runs yet: run --stage start first")
    by_shift = {
        shift: [r["val_top1"] for r in runs if r["start"][1] == shift] for shift in {r["start"][1] for r in runs}
    }
    return max(by_shift, key=lambda shift: statistics.fmean(by_shift[shift]))


def timesformer_recipe() -> str:
    """TimeSformer's recipe, chosen on validation by ``benchmarks/timesformer.py``."""
    records = read_records(TIMESFORMER_RESULTS)
    if not records or timesformer_runs_left(records):
        raise SystemExit("TimeSformer's recipe study is not complete: run benchmarks/timesformer.py first")
    return chosen_recipe(records)


def stage_cells(stage: str, backbones: list[str], records: list[dict] | None = None) -> list[Cell]:
    """Every run of a stage, in seed-major order (a partial sweep has every configuration's first seeds);
    ``gate_again`` reads the gate stage's ``records``."""
    if stage == "gate_again":
        return gate_again_cells(records or [], backbones)
    if stage == "confirm":  # its own seeds and benchmark
        return [Cell(b, input, seed, pretrained=False, data_seed=CONFIRM_DATA_SEED)
                for seed in CONFIRM_SEEDS for b in backbones for input in ("frames", "vmp")]
    cells = []
    for seed in SEEDS:
        if stage == "gate":  # every backbone asked for; the sixth amendment's thresholds after the first five
            cells += [Cell(b, "gated", seed, gate=gate, data_seed=GATE_SEED) for b in backbones
                      for gate in GATES + MORE_GATES if seed < 3]
        elif stage == "start":
            cells += [Cell(b, "vmp", seed, shift=shift, tav_weight=lam)
                      for b in backbones for lam in (0.0, 1.0) for shift in START_SHIFTS]
        elif stage == "regimes":
            cells += [Cell(b, input, seed, **{**CONDITIONS, **REGIMES[name]}) for b in backbones
                      for name in PRIMARY_REGIMES for input in REGIME_INPUTS[name]]
        elif stage == "post_hoc":  # exploratory, decided after the regimes stage
            cells += [Cell(b, input, seed, **{**CONDITIONS, **REGIMES[name]}, shift=shift) for b in backbones
                      for name in ("scene", "appearance") for input, shift in POST_HOC_INPUTS
                      if seed in EXPLORATORY_SEEDS]
        elif stage == "source":  # exploratory: the direction-keeping source task's checkpoint
            cells += [Cell(b, input, seed, **CONDITIONS, source="directed") for b in backbones
                      for input in ("frames", "vmp")]
        elif stage == "source_control":  # the sixth amendment: each new checkpoint, three fine-tuning seeds
            cells += [Cell("tiny3d", input, seed, **CONDITIONS, source=name) for name in SOURCE_CONTROL
                      for input in ("frames", "vmp") if seed in EXPLORATORY_SEEDS]
        elif stage == "primary":
            cells += [Cell(b, input, seed, **{**CONDITIONS, **REGIMES[name]}) for b in backbones
                      for name in PRIMARY_REGIMES_OF.get(b, PRIMARY_REGIMES) for input in PRIMARY_INPUTS[name]]
        else:
            raise SystemExit(f"unknown stage {stage!r}")
    if stage == "regimes":  # then the exploratory regimes, seed-major again
        cells += [Cell(b, input, seed, **{**CONDITIONS, **REGIMES[name]}) for seed in EXPLORATORY_SEEDS
                  for b in backbones for name in REGIMES if name not in PRIMARY_REGIMES
                  for input in REGIME_INPUTS[name]]
    return cells


def gate_again_cells(records: list[dict], backbones: list[str]) -> list[Cell]:
    """The sixth amendment: each gated run made at ``GATE_USED`` (the base regime's five seeds, the
    post-hoc shortcuts' three), made again at its backbone's own threshold where that differs."""
    cells = []
    for backbone in backbones:
        gate = chosen_gate(records, backbone)
        if gate == GATE_USED:
            continue
        for seed in SEEDS:
            cells.append(Cell(backbone, "gated", seed, **CONDITIONS, gate=gate))
            if seed in EXPLORATORY_SEEDS:
                cells += [Cell(backbone, "gated", seed, **{**CONDITIONS, **REGIMES[name]}, gate=gate)
                          for name in ("scene", "appearance")]
    return cells


def in_regime(cell: Cell, name: str) -> bool:
    """Whether a cell belongs to the named regime (the base with that regime's one change, nothing else)."""
    return regime_of(cell) == name


def regime_of(cell: Cell) -> str | None:
    """The regime a cell's fields put it in: the one whose changes to the base are exactly the cell's."""
    changed = {key: getattr(cell, key) for key in CONDITIONS if getattr(cell, key) != CONDITIONS[key]}
    return next((name for name, changes in REGIMES.items() if changes == changed), None)


def run(cell: Cell, stage: str, records: list[RunRecord]) -> RunRecord:
    """Train and test one cell; its record."""
    profile = get_profile("book")
    if not cell.pretrained:
        profile = dataclasses.replace(profile, weights=None)
    config = study_config(cell.nuisance, cell.shortcut, cell.data_seed)
    profile = dataclasses.replace(profile, synthetic=config)
    splits = load_splits(profile, SPECS[cell.backbone].layout).subset(CLASSES, cell.labels_per_class, seed=CLASS_SEED)
    options: dict = {"train_changes": {"eval_batch_size": 32}}
    recipe = None
    if cell.backbone == "timesformer":  # the recipe benchmarks/timesformer.py chose on validation
        recipe = timesformer_recipe()
        pretrained, patch, lr, epochs = TIMESFORMER_RECIPES[recipe]
        options["train_changes"].update(lr=lr, epochs=epochs)
        if not pretrained:
            profile = dataclasses.replace(profile, weights=None)
            options["patch_size"] = patch
    shift = None
    if cell.input in ("vmp", "vmp_frozen"):
        shift = cell.shift if cell.shift is not None else chosen_start(records)
        options.update(prompt_init=m_n_for(SLOPE, shift), learn_prompt=cell.input == "vmp", tav_weight=cell.tav_weight)
        input = "vmp"
    else:
        input = cell.input
    gate = None
    if cell.input == "gated":
        gate = cell.gate if cell.gate is not None else chosen_gate(records, cell.backbone)
        options["gate"] = gate
    plan, plan_modified = regimes_paper.plan_now()
    started, start = regimes_paper.utc_now(), time.perf_counter()
    if cell.source != "pooled":  # the book's weights are read from this source task's folder instead
        options["checkpoints"] = SOURCE_CHECKPOINTS[cell.source]
    result = train_and_test(cell.backbone, profile, splits, input=input, seed=cell.seed, **options)
    final = result.history[-1]
    return {
        "stage": stage, "backbone": cell.backbone, "input": cell.input, "seed": cell.seed,
        "labels_per_class": cell.labels_per_class, "nuisance": cell.nuisance, "shortcut": cell.shortcut,
        "pretrained": cell.pretrained, "start": [SLOPE, shift] if shift is not None else None,
        "tav_weight": cell.tav_weight, "gate": gate, "data_seed": cell.data_seed,
        "synthetic_key": synthetic_key(config), "val_top1": final["val_top1"], "test_top1": result.test["top1"],
        "test_correct": result.test["correct"],
        "history": [{key: epoch.get(key) for key in ("epoch", "val_top1", "train_ce", "slope", "shift")}
                    for epoch in result.history],
        "final": [final.get("slope"), final.get("shift")], "seconds": round(time.perf_counter() - start, 1),
        "cell": list(cell.key()), "recipe": recipe, "source": cell.source,
        "started": started, "ended": regimes_paper.utc_now(), "threads": torch.get_num_threads(),
        "plan_commit": plan, "plan_modified": plan_modified,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", required=True,
                        choices=("gate", "start", "regimes", "primary", "post_hoc", "source", "confirm", "paper",
                                 "source_control", "gate_again"))
    parser.add_argument("--backbone", nargs="+", help="tiny3d by default; the paper stage's two by default")
    parser.add_argument(
        "--out", type=Path, help=f"{RESULTS.name} by default; the paper stage's {regimes_paper.RESULTS.name}"
    )
    parser.add_argument("--limit", type=int, help="stop after this many new runs")
    parser.add_argument(
        "--seeds", nargs="+", type=int, help="only these seeds (two processes on two cores share a stage)"
    )
    parser.add_argument("--inputs", nargs="+", choices=INPUTS, help="only these inputs")
    parser.add_argument("--regimes", nargs="+", choices=list(REGIMES), help="only these regimes")
    parser.add_argument("--dry-run", action="store_true", help="print the runs left and an estimate, run nothing")
    args = parser.parse_args()
    if args.stage == "paper":  # the fifth amendment: its own records, its own order
        regimes_paper.sweep(args.out or regimes_paper.RESULTS, tuple(args.backbone or regimes_paper.BACKBONES),
                            args.limit, args.seeds, args.inputs, args.regimes, args.dry_run)
        return
    args.out, args.backbone = args.out or RESULTS, args.backbone or ["tiny3d"]
    records = read_records(args.out)
    done = {tuple(r["cell"]) for r in records}
    cells = [cell for cell in stage_cells(args.stage, args.backbone, records) if cell.key() not in done
             and (args.seeds is None or cell.seed in args.seeds) and (args.inputs is None or cell.input in args.inputs)
             and (args.regimes is None or any(in_regime(cell, name) for name in args.regimes))]
    started = sum(r["stage"] == "start" for r in records)
    needs_start = any(cell.input in ("vmp", "vmp_frozen") for cell in cells)
    if (
        args.stage in ("regimes", "primary", "post_hoc", "source", "confirm", "source_control")
        and needs_start
        and started < START_RUNS
        and not args.dry_run
    ):
        raise SystemExit(
            f"the start stage has {started} of its {START_RUNS} runs: finish it first (the base start is read from all "
            "of them)"
        )
    if args.dry_run:
        seconds = {b: [r["seconds"] for r in records if r["backbone"] == b] for b in args.backbone}
        estimate = sum(
            statistics.median(seconds[c.backbone]) if seconds.get(c.backbone) else float("nan") for c in cells
        )
        print(f"{len(cells)} runs left in stage {args.stage!r}; about {estimate / 3600:.1f} h at the median run time")
        return
    for cell in cells[: args.limit]:
        if cell.input in ("vmp", "vmp_frozen", "gated"):
            records = read_records(args.out)  # the choices read the records as they stand
        record = run(cell, args.stage, records)
        append_record(args.out, record)
        print(json.dumps({key: record[key] for key in ("stage", "backbone", "input", "seed", "start", "val_top1",
                                                       "test_top1", "seconds")}), flush=True)


if __name__ == "__main__":
    torch.set_num_threads(int(os.environ.get("VMP_THREADS", torch.get_num_threads())))
    main()
