"""The regimes study's analysis on runs made up here: pairing, family-wise levels and the wording."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from vmp.regimes import BASE, PRIMARY, Question, answer, detectable, matches, paired_differences


def run(backbone, input, seed, correct, stage="regimes", key="k1", **fields):
    return {"backbone": backbone, "input": input, "seed": seed, "stage": stage, "synthetic_key": key,
            "test_correct": list(correct), "start": [30.0, fields.pop("shift", 0.1)], **BASE, **fields}


def records_with_gap(gap: float, clips: int = 600, seeds: int = 5, backbones=("tiny3d", "slowfast_r50")):
    """VMP right on a share `gap` more of the clips than frames, every seed and backbone."""
    rng = np.random.default_rng(0)
    records = []
    for backbone in backbones:
        for seed in range(seeds):
            frames = rng.uniform(size=clips) < 0.5
            vmp = frames | (rng.uniform(size=clips) < gap * 2)
            records += [run(backbone, "frames", seed, frames.astype(int)), run(backbone, "vmp", seed, vmp.astype(int))]
    return records


def test_a_clear_gain_is_resolved_and_no_gain_is_not():
    base = PRIMARY[0]
    (gain,) = answer(records_with_gap(0.1), [base])
    assert gain.backbones == ["tiny3d", "slowfast_r50"] and gain.resolved and gain.interval[0] > 0.05
    assert gain.wording().startswith("VMP - frames, base regime: ahead by")
    (none,) = answer(records_with_gap(0.0), [base])
    assert not none.resolved and "no resolved difference" in none.wording()
    df = none.difference.degrees_of_freedom
    t_multiple = stats.t.ppf(0.975, df) + stats.t.ppf(0.8, df)
    assert detectable(none) == pytest.approx(t_multiple * none.difference.standard_error, rel=1e-6)
    assert none.bootstrap is none.difference  # the former name still reads


def test_the_family_reads_bonferroni_intervals_beside_holms_tests():
    records = records_with_gap(0.1) + [run("tiny3d", "difference", s, np.ones(600, int)) for s in range(5)]
    answers = answer(records, [PRIMARY[0], PRIMARY[4]])
    assert [a.level for a in answers] == pytest.approx([0.975, 0.975])  # 0.05 / 2 for both
    assert all(a.interval == pytest.approx(a.difference.interval(0.975)) for a in answers)
    assert all(a.adjusted_p >= a.difference.p_value for a in answers)
    assert all(a.rejected() for a in answers if a.resolved)  # Bonferroni's interval implies Holm's test


def test_the_planned_bootstrap_is_still_available():
    from vmp.regimes import planned_bootstrap

    (boot,) = answer(records_with_gap(0.1), [PRIMARY[0]], method=planned_bootstrap)
    (t,) = answer(records_with_gap(0.1), [PRIMARY[0]])
    assert boot.difference.estimate == pytest.approx(t.difference.estimate)
    assert len(boot.difference.resamples) == 10_000


def test_pairing_refuses_other_clips_and_duplicate_runs():
    question = Question("q", "vmp - frames", {"input": "vmp"}, {"input": "frames"}, ("tiny3d",))
    records = [run("tiny3d", "vmp", 0, [1, 0], key="a"), run("tiny3d", "frames", 0, [0, 0], key="b")]
    with pytest.raises(ValueError, match="other clips"):
        paired_differences(records, question, "tiny3d")
    with pytest.raises(ValueError, match="two runs"):
        paired_differences(records + [run("tiny3d", "vmp", 0, [1, 1], key="a")], question, "tiny3d")
    assert paired_differences(records, question, "x3d_xs") is None


def test_fields_match_by_value_tuple_and_start_shift():
    record = run("tiny3d", "vmp", 0, [1], stage="start", shift=-0.3)
    assert matches(record, {"start_shift": -0.3, "stage": ("start",), "labels_per_class": 30})
    assert not matches(record, {"stage": ("regimes", "primary")})
    assert not matches(record, {"start_shift": 0.1})


def test_still_attention_is_the_sigmoid_at_zero_difference():
    from vmp.regimes import still_attention

    assert still_attention(30.0, 0.0) == 0.5
    assert still_attention(30.0, 0.1) == pytest.approx(1 / (1 + np.exp(3.0)))
    assert still_attention(30.0, -0.3) > 0.9998 and still_attention(30.0, 0.3) < 2e-4


def test_start_table_groups_runs_by_backbone_lambda_and_start():
    from vmp.regimes import start_table

    records = []
    for shift, end in ((-0.3, -0.4), (0.1, 0.2)):
        for seed in range(3):
            record = run("tiny3d", "vmp", seed, [1, 0], stage="start", shift=shift)
            record.update(val_top1=0.5 + seed / 10, test_top1=0.6, final=[30.0, end + seed / 100])
            records.append(record)
    rows = start_table(records + [run("tiny3d", "frames", 0, [1, 1])])
    assert [(r["start_shift"], r["seeds"]) for r in rows] == [(-0.3, 3), (0.1, 3)]
    assert rows[0]["val_top1"] == pytest.approx(0.6) and rows[0]["end_shift"] == pytest.approx(-0.39)
    assert (rows[1]["end_shift_low"], rows[1]["end_shift_high"]) == pytest.approx((0.2, 0.22))


def test_regime_table_reports_each_regime_that_ran_with_its_gain():
    from vmp.regimes import regime_table

    records = records_with_gap(0.1)
    rng = np.random.default_rng(1)
    few = [dict(r, labels_per_class=5, test_correct=list((rng.uniform(size=600) < 0.5).astype(int)))
           for r in records_with_gap(0.0)]  # both inputs right on independent halves of the clips
    for r in records + few:
        r["test_top1"] = float(np.mean(r["test_correct"]))
    rows = regime_table(records + few)
    assert [row["regime"] for row in rows] == ["base", "labels_5"]
    base, labels = rows
    assert base["seeds"] == 5 and base["backbones"] == ["tiny3d", "slowfast_r50"]
    assert base["difference"] == pytest.approx(base["vmp"] - base["frames"]) and base["interval"][0] > 0
    assert np.mean(list(base["per_backbone"].values())) == pytest.approx(base["difference"])
    assert labels["interval"][0] < 0 < labels["interval"][1]


def test_accuracy_resamples_seeds_and_clips_around_the_mean():
    from vmp.regimes import accuracy

    records = records_with_gap(0.1)
    frames = accuracy(records, {"input": "frames"}, "tiny3d")
    runs = [r for r in records if r["backbone"] == "tiny3d" and r["input"] == "frames"]
    assert frames.estimate == pytest.approx(np.mean([r["test_correct"] for r in runs]))
    low, high = frames.interval()
    assert low < frames.estimate < high and high - low < 0.1
    assert accuracy(records, {"input": "stacked"}, "tiny3d") is None


def paper_run(backbone, regime, input, seed, correct, below=0.002):
    """A confirmatory record of the paper arm (the layer's fields for VMP inputs)."""
    layer = input.startswith("vmp")
    return {"stage": "paper", "backbone": backbone, "regime": regime, "input": input, "seed": seed,
            "synthetic_key": "k1", "test_correct": list(correct), "test_top1": float(np.mean(correct)),
            "epochs_trained": 12,
            "stopped_epoch": 12 if seed % 2 else None, "start": [1.0, 0.5] if layer else None,
            "final": [13.0 + seed, -0.5] if layer else None, "attention_below_half": below if layer else None,
            "still_attention": 0.999 if layer else None}


def paper_grid(seeds, gap=0.0, clips=600, drop=()):
    """Every planned run of ``seeds``, VMP ahead of the frames by ``gap`` in the scene shortcut only;
    ``drop`` leaves out (seed, backbone, regime, input) runs."""
    from vmp.regimes_design import PAPER_BACKBONES, PAPER_REGIMES, paper_inputs

    rng = np.random.default_rng(0)
    records = []
    for seed in seeds:
        for backbone in PAPER_BACKBONES:
            for regime in PAPER_REGIMES:
                for input in paper_inputs(regime, seed):
                    if (seed, backbone, regime, input) in drop:
                        continue
                    rate = 0.6 + (gap if input == "vmp" and regime == "scene" else 0.0)
                    records.append(paper_run(backbone, regime, input, seed, rng.random(clips) < rate))
    return records


def test_the_paper_arm_is_analysed_on_complete_seeds_only():
    from vmp.regimes import complete_paper_seeds, paper_records, stopping_summary

    records = paper_grid([10, 11, 12, 13], drop={(13, "slowfast_r50", "scene", "vmp")})
    assert complete_paper_seeds(records) == [10, 11, 12]
    assert {r["seed"] for r in paper_records(records)} == {10, 11, 12}
    # seeds 10-12: 2 backbones x (4 regimes x 2 inputs + the frozen layer in the base regime)
    summary = stopping_summary(records)
    assert summary["runs"] == 3 * 2 * 9 and summary["by_rule"] == 2 * 9 and summary["by_maximum"] == 4 * 9
    # the earlier stages' runs never count
    assert complete_paper_seeds([{**r, "stage": "paper_lambda"} for r in records]) == []


def test_the_paper_arms_family_is_four_questions_at_the_bonferroni_level():
    from vmp.regimes import PAPER_PRIMARY, paper_answers

    answers = paper_answers(paper_grid(range(10, 16), gap=0.15))
    assert [a.question.name for a in answers] == [q.name for q in PAPER_PRIMARY] == [
        "base", "labels_5", "scene", "appearance"]
    assert all(a.level == pytest.approx(1 - 0.05 / 4) for a in answers)
    by_name = {a.question.name: a for a in answers}
    assert by_name["scene"].resolved and by_name["scene"].rejected()
    assert by_name["scene"].interval[0] > 0.05
    assert not any(by_name[name].rejected() for name in ("base", "labels_5", "appearance"))


def test_layer_activity_compares_the_layer_with_the_frames_noise_floor():
    from vmp.regimes import PAPER_LEARNED_VS_FROZEN, disagreement, layer_activity, paper_secondary

    records = paper_grid(range(10, 13))
    activity = layer_activity(records, "tiny3d", "base")
    assert activity["seeds"] == 3 and activity["identity_seeds"] == 3  # 0.2% of pixels below 0.5
    # two independent runs at 60% disagree on about 2 x 0.6 x 0.4 = 48% of clips
    assert activity["disagree"] == pytest.approx(0.48, abs=0.05)
    assert activity["frames_disagree"] == pytest.approx(0.48, abs=0.05)
    assert activity["end_slope"] == [23.0, 24.0, 25.0] and activity["end_shift"] == [-0.5] * 3
    frozen = paper_secondary(records, PAPER_LEARNED_VS_FROZEN)
    assert frozen is not None and abs(frozen.estimate) < 0.05
    assert disagreement([1, 0, 1, 1], [1, 1, 0, 1]) == 0.5
    with pytest.raises(ValueError, match="4 and 3 clips"):
        disagreement([1, 0, 1, 1], [1, 1, 0])
    with pytest.raises(ValueError, match="no complete seed"):
        layer_activity(records[:5], "tiny3d", "base")


def test_paper_arm_table_puts_each_answer_beside_the_layers_activity():
    from vmp.regimes import paper_arm_table

    rows = paper_arm_table(paper_grid(range(10, 14), gap=0.15))
    assert [row["regime"] for row in rows] == ["base", "labels_5", "scene", "appearance"]
    scene = rows[2]
    assert scene["seeds"] == 4 and scene["layer_runs"] == 8 and scene["identity_seeds"] == 8
    assert scene["vmp"] - scene["frames"] == pytest.approx(scene["difference"])
    assert scene["interval"][0] > 0 and scene["adjusted_p"] < 0.05 and 0 < scene["detectable"] < 0.15
    assert all(row["level"] == pytest.approx(0.9875) for row in rows)




def test_layers_are_grouped_by_their_draw_with_the_clips_they_change():
    from vmp.regimes import layers_by_draw, still_attention

    records = paper_grid(range(10, 13))
    frames = {(r["backbone"], r["regime"], r["seed"]): r for r in records if r["input"] == "frames"}
    for r in records:
        if r["input"] == "vmp" and r["seed"] != 11:  # seeds 10 and 12 drawn passing still pixels
            r["start"] = [20.0, -0.3]
        elif r["input"] == "vmp":  # seed 11 drawn blanking; its layers copy the frames' answers
            r["attention_below_half"] = 0.9
            r["test_correct"] = list(frames[r["backbone"], r["regime"], 11]["test_correct"])
    assert still_attention(20.0, -0.3) > 0.99 and still_attention(1.0, 0.5) < 0.5
    groups = layers_by_draw(records)
    # 2 backbones x 4 regimes: seeds 10 and 12 passing, 11 blanking; two neighbour pairs each
    assert [len(groups["passing"]["changed"]), len(groups["blanking"]["changed"]), len(groups["floor"])] == [16, 8, 16]
    assert groups["blanking"] == {"dimmed": [0.9] * 8, "changed": [0.0] * 8}
    assert groups["passing"]["dimmed"] == [0.002] * 16
    assert all(0.4 < share < 0.56 for share in groups["passing"]["changed"] + groups["floor"])

def test_arm_activity_pairs_each_layer_with_the_frames_of_its_data_and_seed():
    from vmp.regimes import arm_activity, record_key

    def run(seed, input, correct, stage="regimes", **extra):
        return {"stage": stage, "backbone": "tiny3d", "input": input, "seed": seed, "labels_per_class": 30,
                "nuisance": "heavy", "shortcut": "none", "pretrained": True, "tav_weight": 0.0, "data_seed": 1,
                "start": None if input == "frames" else [30.0, -0.3],
                "final": None if input == "frames" else [40.0, -0.2], "test_correct": correct,
                "cell": [seed, input, stage], **extra}

    frames = [run(0, "frames", [1, 1, 0, 0]), run(1, "frames", [1, 0, 0, 0], source="pooled")]
    layers = [run(0, "vmp", [1, 0, 0, 0], stage="start"), run(1, "vmp", [1, 0, 0, 1], stage="start")]
    other_data = run(0, "frames", [0, 0, 0, 0], data_seed=3)
    shares = {record_key(layers[0]): 0.001, record_key(layers[1]): 0.5}
    (row,) = arm_activity([*frames, *layers, other_data], shares)
    assert row["stage"] == "start" and row["seeds"] == 2 and row["source"] == "pooled"
    assert row["disagree"] == pytest.approx((1 / 4 + 1 / 4) / 2)  # each against its own seed's frames
    assert row["frames_disagree"] == pytest.approx(1 / 4)
    assert row["below_half"] == pytest.approx(0.2505) and row["identity_seeds"] == 1
    with pytest.raises(ValueError, match="two frames runs of seed 0"):
        arm_activity([*frames, run(0, "frames", [0, 0, 0, 0], stage="primary")], shares)


def test_source_control_compares_checkpoints_not_fine_tuning_runs():
    from vmp.regimes import SOURCE_ARMS, source_control

    def run(checkpoint, seed, top1):
        stage = {"stage": "regimes"} if checkpoint == "pooled_s0" else {"stage": "source_control", "source": checkpoint}
        return {**BASE, **stage, "backbone": "tiny3d", "input": "frames", "seed": seed, "test_top1": top1}

    level = {"pooled": 0.80, "diagonal": 0.85}
    records = [run(name, seed, level[arm] + 0.01 * index + 0.001 * seed)
               for arm, names in SOURCE_ARMS.items() for index, name in enumerate(names) for seed in (0, 1, 2)]
    result = source_control(records + [run("pooled_s1", 3, 0.0)], "frames")  # a fourth seed is not read
    assert result["difference"] == pytest.approx(0.05) and result["checkpoints"]["pooled_s1"] == pytest.approx(0.811)
    low, high = result["interval"]
    assert low < 0.05 < high and 0 < low  # three checkpoints a side, spread 0.01: resolved
    stats_check = stats.ttest_ind([0.851, 0.861, 0.871], [0.801, 0.811, 0.821], equal_var=False)
    assert result["p"] == pytest.approx(stats_check.pvalue)
    with pytest.raises(ValueError, match="diagonal_s2 has 2 of its 3 frames runs"):
        source_control([r for r in records if not (r.get("source") == "diagonal_s2" and r["seed"] == 2)], "frames")


def test_each_backbone_reads_its_gated_runs_at_its_own_threshold():
    from vmp.regimes import at_own_gate, chosen_gate

    def run(backbone, stage, gate, val=0.5, seed=0):
        return {"stage": stage, "backbone": backbone, "input": "gated", "gate": gate, "val_top1": val, "seed": seed}

    gate_stage = [run("tiny3d", "gate", 0.3, 0.8), run("tiny3d", "gate", 0.4, 0.7),
                  run("slowfast_r50", "gate", 0.3, 0.6), run("slowfast_r50", "gate", 0.4, 0.7),
                  run("slowfast_r50", "gate", 0.5, 0.7)]  # a tie goes to the smaller threshold
    assert chosen_gate(gate_stage, "tiny3d") == 0.3 and chosen_gate(gate_stage, "slowfast_r50") == 0.4
    later = [run("tiny3d", "regimes", 0.3), run("slowfast_r50", "regimes", 0.3), run("slowfast_r50", "regimes", 0.4),
             {"stage": "regimes", "backbone": "slowfast_r50", "input": "frames", "gate": None}]
    kept = at_own_gate(gate_stage + later)
    assert kept == gate_stage + [later[0], later[2], later[3]]
    assert at_own_gate(gate_stage[:2] + later) == gate_stage[:2] + later  # SlowFast without a gate stage
