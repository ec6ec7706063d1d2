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
    assert set(sweep.SOURCE_CHECKPOINTS) == {"directed", *sweep.SOURCE_CONTROL}


def test_source_control_stage_fine_tunes_every_new_checkpoint_of_both_arms(sweep):
    import source_control

    from vmp.data.synth import CLASSES
    from vmp.weights import CHECKPOINTS

    cells = sweep.stage_cells("source_control", ["tiny3d"])
    assert len(cells) == len(set(cells)) == 5 * 2 * 3
    assert Counter(cell.source for cell in cells) == {name: 6 for name in ("pooled_s1", "pooled_s2", "diagonal_s0",
                                                                         "diagonal_s1", "diagonal_s2")}
    assert {sweep.regime_of(cell) for cell in cells} == {"base"} and {cell.seed for cell in cells} == {0, 1, 2}
    # three pretraining seeds per arm; pooled seed 0 is the book's own checkpoint, fine-tuned already
    assert source_control.checkpoint_folder("pooled", 0) == CHECKPOINTS
    assert len({source_control.checkpoint_folder(arm, seed) for arm in source_control.ARMS
                for seed in source_control.PRETRAIN_SEEDS}) == 6
    assert not set(source_control.ARMS["diagonal"].class_names) & set(CLASSES)
    with pytest.raises(ValueError, match="no checkpoint 'directed' seed 0"):
        source_control.checkpoint_folder("directed", 0)


def test_gate_is_chosen_per_backbone_past_the_former_edge_and_gated_runs_made_again(sweep):
    cells = sweep.stage_cells("gate", ["tiny3d", "slowfast_r50"])
    assert {cell.gate for cell in cells} == set(sweep.GATES) | set(sweep.MORE_GATES)
    assert max(sweep.MORE_GATES) > max(sweep.GATES) == sweep.GATE_USED
    assert Counter(cell.backbone for cell in cells) == {"tiny3d": 21, "slowfast_r50": 21}

    def gate_runs(backbone, best):
        return [{"stage": "gate", "backbone": backbone, "gate": gate, "val_top1": 0.9 if gate == best else 0.5}
                for gate in sweep.GATES + sweep.MORE_GATES for _ in range(3)]

    records = gate_runs("tiny3d", 0.3) + gate_runs("slowfast_r50", 0.4)
    assert sweep.chosen_gate(records, "tiny3d") == 0.3 and sweep.chosen_gate(records, "slowfast_r50") == 0.4
    again = sweep.stage_cells("gate_again", ["tiny3d", "slowfast_r50"], records)
    assert {cell.backbone for cell in again} == {"slowfast_r50"} and {cell.gate for cell in again} == {0.4}
    assert Counter(sweep.regime_of(cell) for cell in again) == {"base": 5, "scene": 3, "appearance": 3}
    # a run made again has a key of its own: the earlier runs (gate None: the gate then chosen) stay
    assert all(cell.key() != cell._replace(gate=None).key() for cell in again)
    with pytest.raises(SystemExit, match="no gate-stage runs of x3d_xs"):
        sweep.chosen_gate(records, "x3d_xs")


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


def test_paper_stage_chooses_lambda_first_then_runs_seed_major_on_its_own_seeds_and_file(sweep):
    import regimes_paper as paper

    from vmp.regimes import CONFIRMATORY, PRIMARY, matches, regime_fields
    from vmp.regimes_design import FROZEN_SEEDS

    cells = paper.paper_cells()
    assert len(cells) == len(set(cells)) == 2 * (len(paper.TAV_WEIGHTS) * len(paper.SELECTION_SEEDS)
                                                 + len(paper.SEEDS) * 2 * 4 + len(FROZEN_SEEDS))
    selection = 2 * len(paper.TAV_WEIGHTS) * len(paper.SELECTION_SEEDS)
    assert [cell.step for cell in cells] == ["lambda"] * selection + ["grid"] * (len(cells) - selection)
    grid = [cell for cell in cells if cell.step == "grid"]
    assert [cell.seed for cell in grid] == sorted(cell.seed for cell in grid)  # seed-major
    assert Counter((cell.regime, cell.input) for cell in grid) == {
        **{(regime, input): 20 for regime in sweep.PRIMARY_REGIMES for input in ("frames", "vmp")},
        ("base", "vmp_frozen"): 10,
    }
    assert {cell.seed for cell in grid if cell.input == "vmp_frozen"} == set(FROZEN_SEEDS) == {10, 11, 12, 13, 14}
    assert {cell.tav_weight for cell in grid if cell.input != "frames"} == {None}  # λ as chosen on validation
    assert len(paper.SEEDS) == 10 and len(paper.TAV_WEIGHTS) >= 4 and {0.0, 0.1, 0.5, 1.0} <= set(paper.TAV_WEIGHTS)
    used = set(sweep.SEEDS) | set(sweep.CONFIRM_SEEDS)
    assert not (set(paper.SEEDS) & used or set(paper.SELECTION_SEEDS) & (used | set(paper.SEEDS)))
    assert paper.MAX_EPOCHS >= 3 * 8
    # one draw per seed, whatever the backbone, regime or input, from the paper's N(1e-5, 1)
    assert paper.paper_draw(10) == paper.paper_draw(10) != paper.paper_draw(11)
    # its records go to a file of their own, and would match no earlier question even in the same file
    assert paper.RESULTS != sweep.RESULTS
    record = {"stage": "paper", "backbone": "tiny3d", "input": "vmp", "seed": 10, "labels_per_class": 30,
              "nuisance": "heavy", "shortcut": "none", "pretrained": True, "tav_weight": 0.0, "start": [30.0, -0.3]}
    for question in (*PRIMARY, CONFIRMATORY):
        assert not matches(record, question.a) and not matches({**record, "input": "frames"}, question.b)
    assert not any(
        matches({**record, "stage": stage}, regime_fields("base", "vmp")) for stage in ("paper", "paper_lambda")
    )
    assert matches({**record, "stage": "regimes"}, regime_fields("base", "vmp"))


def test_paper_stage_lambda_rule_takes_the_best_mean_validation_and_ties_to_the_smaller(sweep):
    import regimes_paper as paper

    def runs(scores: dict) -> list[dict]:
        return [{"stage": "paper_lambda", "backbone": "tiny3d", "tav_weight": w, "val_clips": 300, "val_top1": v / 300}
                for w, values in scores.items() for v in values]

    assert paper.chosen_tav_weight(runs({0.0: [200] * 3, 0.1: [201] * 3, 0.5: [199, 205, 205], 1.0: [150] * 3}),
                                   "tiny3d") == 0.5
    assert paper.chosen_tav_weight(runs({0.0: [200] * 3, 0.1: [210, 200, 190], 0.5: [200] * 3, 1.0: [0] * 3}),
                                   "tiny3d") == 0.0
    with pytest.raises(SystemExit, match="finish it first"):
        paper.chosen_tav_weight(runs({0.0: [200] * 3}), "tiny3d")


@pytest.fixture
def tiny_study(tmp_path):
    """What a sweep's ``load_splits`` is replaced by: the study's subset of its splits is here the
    whole of a tiny benchmark (6 clips a class)."""
    import dataclasses

    from vmp.data.synth import SynthConfig
    from vmp.experiment import get_profile, load_splits

    tiny = dataclasses.replace(get_profile("book"),
                               synthetic=SynthConfig(seed=4, classes=6, clips_per_class=6, frames=9, size=64))
    splits = load_splits(tiny, root=tmp_path / "synth")

    class Whole:
        def subset(self, *args, **kwargs):
            return splits

    return splits, lambda *args, **kwargs: Whole()


def test_paper_stage_records_date_themselves_and_the_layers_activity(sweep, tiny_study, monkeypatch):
    import subprocess
    from datetime import datetime

    import regimes_paper as paper

    splits, load_splits = tiny_study
    monkeypatch.setattr(paper, "load_splits", load_splits)
    monkeypatch.setattr(paper, "MAX_EPOCHS", 3)
    monkeypatch.setattr(paper, "PATIENCE", 1)
    plan = subprocess.run(["git", "log", "-1", "--format=%H", "--", "benchmarks/regimes_plan.md"], cwd=paper.ROOT,
                          capture_output=True, text=True).stdout.strip()
    m, n = paper.paper_draw(10)
    by_input = {input: paper.run_cell(paper.PaperCell("grid", "tiny3d", input, 10, "base", weight), [])
                for input, weight in (("frames", 0.0), ("vmp", 0.5), ("vmp_frozen", 0.5))}
    for record in by_input.values():
        started, ended = (datetime.fromisoformat(record[key]) for key in ("started", "ended"))
        assert started.utcoffset().total_seconds() == 0 and started <= ended
        assert record["plan_commit"] == plan and len(plan) == 40
        assert record["stage"] == "paper" and record["draw"] == [m, n] and record["regime"] == "base"
        curve = record["val_curve"]
        assert record["epochs_trained"] == len(curve) == len(record["history"]) <= 3
        assert record["best_epoch"] == curve.index(max(curve)) + 1 and record["val_top1"] == max(curve)
        assert record["stopped_epoch"] in (None, record["epochs_trained"])
        assert len(record["test_correct"]) == len(splits.test)
        assert {"max_epochs", "patience", "min_delta", "seconds", "cpu_seconds", "cell"} <= set(record)
    assert by_input["frames"]["final"] is None and by_input["frames"]["attention_below_half"] is None
    for input in ("vmp", "vmp_frozen"):
        record = by_input[input]
        assert record["tav_weight"] == 0.5 and 0 <= record["attention_below_half"] <= 1
        assert 0 <= record["still_attention"] <= 1 and len(record["final"]) == 2
    frozen = by_input["vmp_frozen"]
    assert frozen["final"] == pytest.approx(frozen["start"])  # the frozen layer stays at its draw


def test_layer_activity_puts_a_layer_where_a_record_ended_and_keys_each_record_once(sweep):
    import layer_activity

    from vmp.models import build_model

    model = build_model("tiny3d", num_classes=6, input="vmp")
    for slope, shift in [(49.82, -0.268), (13.07, 0.576), (50.0, -0.3)]:
        layer_activity.set_layer(model, slope, shift)
        learned = model.prompt.learned()
        assert learned["slope"] == pytest.approx(slope, rel=1e-5) and learned["shift"] == pytest.approx(shift, abs=1e-6)
    record = {"stage": "start", "input": "vmp", "final": [30.0, -0.3], "cell": ["tiny3d", "vmp", 0, 30]}
    others = [{**record, "stage": "primary"}, {**record, "input": "frames", "final": None}, {**record, "final": None}]
    assert layer_activity.layer_records([record, *others]) == [record, others[0]]
    assert len({layer_activity.record_key(r) for r in (record, others[0])}) == 2


def test_later_stages_records_date_themselves_too(sweep, tiny_study, monkeypatch):
    from datetime import datetime

    monkeypatch.setattr(sweep, "load_splits", tiny_study[1])
    record = sweep.run(sweep.Cell("tiny3d", "frames", 0), "gate", [])
    started, ended = (datetime.fromisoformat(record[key]) for key in ("started", "ended"))
    assert started.utcoffset().total_seconds() == 0 and started <= ended
    assert len(record["plan_commit"]) == 40 and record["plan_modified"] in (True, False)
