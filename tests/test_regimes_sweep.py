"""The regimes sweep runs exactly the grid its plan (amended before the regimes stage) states."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def sweep():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import regimes
        yield regimes
    finally:
        sys.path.remove(str(BENCHMARKS))


def test_regimes_stage_runs_the_amended_grid(sweep):
    cells = sweep.stage_cells("regimes", ["tiny3d", "slowfast_r50"])
    assert len(cells) == len(set(cells)) == 2 * (6 * 5 + 3 * 2 * 5 + 7 * 2 * 3)
    seeds = {}
    for cell in cells:
        seeds.setdefault((sweep.regime_of(cell), cell.input), set()).add(cell.seed)
    assert {input for (name, input) in seeds if name == "base"} == set(sweep.INPUTS)
    for (name, input), got in seeds.items():
        assert got == (set(sweep.SEEDS) if name in sweep.PRIMARY_REGIMES else set(sweep.EXPLORATORY_SEEDS)), (
            name,
            input,
        )
        assert name == "base" or input in ("frames", "vmp")
    first_exploratory = next(i for i, cell in enumerate(cells) if sweep.regime_of(cell) not in sweep.PRIMARY_REGIMES)
    assert all(sweep.regime_of(cell) not in sweep.PRIMARY_REGIMES for cell in cells[first_exploratory:])


def test_primary_stage_runs_the_primary_regimes_only(sweep):
    cells = sweep.stage_cells("primary", ["x3d_xs"])
    assert Counter(sweep.regime_of(cell) for cell in cells) == {
        "base": 10,
        "labels_5": 10,
        "scene": 10,
        "appearance": 10,
    }
    assert {cell.input for cell in cells} == {"frames", "vmp"}
    assert all(cell.shift is None for cell in cells)
    # the third amendment: TimeSformer runs the base and 5-label regimes only
    transformer = sweep.stage_cells("primary", ["timesformer"])
    assert Counter(sweep.regime_of(cell) for cell in transformer) == {"base": 10, "labels_5": 10}


def test_post_hoc_stage_runs_the_blanking_inputs_under_the_shortcuts(sweep):
    cells = sweep.stage_cells("post_hoc", ["tiny3d"])
    assert len(cells) == 2 * 2 * len(sweep.EXPLORATORY_SEEDS)
    assert {(cell.shortcut, cell.input, cell.shift) for cell in cells} == {
        (shortcut, input, shift) for shortcut in ("scene", "appearance") for input, shift in sweep.POST_HOC_INPUTS}


def test_source_stage_reads_the_directed_checkpoint_and_keeps_older_keys(sweep):
    cells = sweep.stage_cells("source", ["tiny3d"])
    assert len(cells) == len(set(cells)) == 2 * len(sweep.SEEDS)
    assert {sweep.regime_of(cell) for cell in cells} == {"base"} and {cell.source for cell in cells} == {"directed"}
    directed = cells[0]
    pooled = directed._replace(source="pooled")
    # runs recorded before the field existed keep their key; a directed run never collides with them
    assert len(pooled.key()) == len(directed.key()) - 1 and pooled.key() == tuple(pooled)[:-1]
    assert set(sweep.SOURCE_CHECKPOINTS) == {"directed"}


def test_timesformer_recipe_study_is_complete_without_repeating_recipes_at_chance(sweep):
    import timesformer

    chance = 1 / timesformer.CLASSES
    first = [{"recipe": name, "seed": 0, "val_top1": chance if name.startswith("scratch") else 0.4}
             for name in timesformer.RECIPES]
    assert set(timesformer.runs_left(first)) == {
        (name, 1) for name in timesformer.RECIPES if not name.startswith("scratch")
    }
    second = [
        {"recipe": name, "seed": 1, "val_top1": 0.4} for name in timesformer.RECIPES if not name.startswith("scratch")
    ]
    assert timesformer.runs_left(first + second) == []


def test_confirm_stage_asks_the_scratch_lead_again_on_fresh_seeds_and_clips(sweep):
    from vmp.experiment import get_profile
    from vmp.regimes import CONFIRMATORY, matches, regime_fields

    cells = sweep.stage_cells("confirm", ["tiny3d", "slowfast_r50"])
    assert len(cells) == len(set(cells)) == 2 * 2 * len(sweep.CONFIRM_SEEDS)
    assert {sweep.regime_of(cell) for cell in cells} == {"scratch"} and {cell.input for cell in cells} == {
        "frames",
        "vmp",
    }
    assert not set(sweep.CONFIRM_SEEDS) & set(sweep.SEEDS)
    assert {cell.data_seed for cell in cells} == {sweep.CONFIRM_DATA_SEED}
    assert sweep.CONFIRM_DATA_SEED not in (sweep.DATA_SEED, sweep.GATE_SEED, get_profile("book").synthetic.seed)
    # the confirmatory runs stay out of every earlier analysis, which reads the regimes and primary stages
    record = {"stage": "confirm", "backbone": "tiny3d", "input": "vmp", "seed": 5, "labels_per_class": 30,
              "nuisance": "heavy", "shortcut": "none", "pretrained": False, "tav_weight": 0.0, "start": [30.0, -0.3]}
    assert not matches(record, regime_fields("scratch", "vmp"))
    assert matches(record, CONFIRMATORY.a) and not matches({**record, "input": "vmp"}, CONFIRMATORY.b)
    assert {cell.backbone for cell in cells} == set(CONFIRMATORY.backbones)
    assert matches({**record, "stage": "regimes"}, regime_fields("scratch", "vmp"))
