"""Result tables: summaries over seeds and Markdown rendering."""

import math

import pytest

from vmp.book.report import markdown_table, mean_and_spread, percent


def test_mean_and_sample_spread():
    assert mean_and_spread([0.2, 0.4]) == pytest.approx((0.3, 0.1414213562))
    assert mean_and_spread([0.5]) == (0.5, 0.0)
    with pytest.raises(ValueError, match="no values"):
        mean_and_spread([])


def test_percent_and_table():
    assert percent(0.31944) == "31.9%" and percent(0.3, 0.0212) == "30.0 ± 2.1%"
    table = markdown_table(["input", "top-1"], [["frames", "8.3%"], ["VMP", "31.9%"]])
    assert table.splitlines() == ["| input | top-1 |", "|---|---|", "| frames | 8.3% |", "| VMP | 31.9% |"]
    with pytest.raises(ValueError, match="row 2 has 1 cells, the header has 2"):
        markdown_table(["a", "b"], [[1, 2], [3]])


def test_seed_table_pairs_inputs_by_seed():
    from vmp.book.report import seed_table

    runs = [{"input": "frames", "seed": 0, "test_top1": 0.5}, {"input": "frames", "seed": 1, "test_top1": 0.7},
            {"input": "vmp", "seed": 1, "test_top1": 0.8}, {"input": "vmp", "seed": 0, "test_top1": 0.4}]
    table = seed_table(runs, ("frames", "vmp"))
    assert "| vmp | 40.0%, 80.0% | 60.0 ± 28.3% | +0.0 points |" in table  # (-0.1 + 0.1) / 2
    assert "| frames | 50.0%, 70.0% | 60.0 ± 14.1% |  |" in table


def test_the_authors_published_values_convert_to_slope_and_shift():
    from vmp.reference import authors_slope_shift

    values = authors_slope_shift()
    assert values[0.0] == pytest.approx((5 / (0.45 * math.tanh(1.69) + 0.1), 0.6 * math.tanh(-0.26)))
    slopes, shifts = zip(*values.values())
    assert 9.5 < min(slopes) and max(slopes) < 12.2          # as the book states: slopes 9.5 to 12.1
    assert shifts[0] == pytest.approx(-0.153, abs=1e-3) and all(-0.6 < b < -0.58 for b in shifts[2:])


def test_mean_interval_matches_a_hand_computed_t_interval():
    from vmp.stats.paired_t import mean_interval

    interval = mean_interval([1, 2, 3, 4, 5])
    # mean 3, sd sqrt(2.5), t(0.975, df 4) = 2.7764451051977987 (tables)
    half = 2.7764451051977987 * math.sqrt(2.5) / math.sqrt(5)
    assert interval.mean == 3 and interval.n == 5
    assert interval.low == pytest.approx(3 - half, rel=1e-12) and interval.high == pytest.approx(3 + half, rel=1e-12)
    assert mean_interval([1, 2, 3, 4, 5], 0.9).high < interval.high  # narrower at 90 %
    with pytest.raises(ValueError, match="at least 2 values"):
        mean_interval([0.5])
    with pytest.raises(ValueError, match="confidence"):
        mean_interval([1, 2], 1.0)


def test_paired_difference_agrees_with_scipy_ttest_rel_and_pairs_by_seed():
    from scipy import stats

    from vmp.stats.paired_t import paired_difference, verdict

    a = {0: 0.80, 1: 0.72, 2: 0.91, 3: 0.66, 4: 0.75}
    b = {4: 0.70, 3: 0.60, 2: 0.90, 1: 0.65, 0: 0.71}  # another order: pairing is by seed, not position
    interval = paired_difference(a, b)
    expected = stats.ttest_rel([a[s] for s in range(5)], [b[s] for s in range(5)]).confidence_interval(0.95)
    assert (interval.low, interval.high) == pytest.approx((expected.low, expected.high), rel=1e-12)
    assert interval.mean == pytest.approx(0.056)
    assert verdict(interval, "a", "b") == "a ahead" and interval.excludes_zero()
    assert interval.points() == "+5.6 points [+1.9, +9.3]"
    assert verdict(paired_difference(b, a), "b", "a") == "a ahead"
    noisy = paired_difference({0: 0.8, 1: 0.6, 2: 0.7}, {0: 0.7, 1: 0.7, 2: 0.7})
    assert verdict(noisy, "a", "b") == "not resolved" and not noisy.excludes_zero()
    with pytest.raises(ValueError, match=r"seeds \[5\] are in one configuration only"):
        paired_difference({**a, 5: 0.5}, b)


def test_chance_p_value_is_the_binomial_tail():
    from vmp.stats.significance import chance_p_value

    # P(X >= 2) for X ~ Binomial(3, 1/2) = 4/8
    assert chance_p_value(2 / 3, 3, 0.5) == pytest.approx(0.5)
    # 23 of 60 right with chance 1/6: below 1e-4; 22 of 60: above it
    assert chance_p_value(23 / 60, 60, 1 / 6) < 1e-4 < chance_p_value(22 / 60, 60, 1 / 6)
    with pytest.raises(ValueError, match="not a whole number"):
        chance_p_value(0.5, 7, 0.5)


def test_clips_needed_is_the_first_score_below_the_level():
    from vmp.stats.significance import chance_p_value, clips_needed

    needed = clips_needed(60, 1 / 6, 1e-4)
    assert needed == 23  # from the tail above: 23 of 60 is below 1e-4, 22 is not
    assert chance_p_value((needed - 1) / 60, 60, 1 / 6) >= 1e-4
    with pytest.raises(ValueError, match="no score on 3 clips"):
        clips_needed(3, 0.5, 0.01)  # even 3 of 3 has p = 1/8


def test_choose_on_validation_and_paired_comparisons_read_ablation_records():
    from vmp.book.report import by_seed, choose_on_validation, paired_comparisons

    records = [{"backbone": "b", "config": name, "seed": seed, "val_top1": val, "test_top1": test}
               for name, val, tests in (("x", 0.6, (0.50, 0.52, 0.55)), ("y", 0.7, (0.60, 0.61, 0.66)),
                                        ("z", 0.5, (0.90, 0.95, 0.99)))
               for seed, test in enumerate(tests)]
    assert choose_on_validation(records, "b", ["x", "y", "z"]) == "y"  # z is best on test, not on validation
    (row,) = paired_comparisons(records, "b", [("y", "x")])
    assert row["interval"].mean == pytest.approx(0.1, abs=1e-12) and row["verdict"] == "y ahead"
    assert by_seed(records, "b", "x") == {0: 0.50, 1: 0.52, 2: 0.55}
    with pytest.raises(ValueError, match="no runs of 'w'"):
        by_seed(records, "b", "w")


def test_holm_adjusts_step_down_keeps_the_order_and_caps_at_one():
    from vmp.stats.significance import holm_adjusted

    assert holm_adjusted({"a": 0.01, "b": 0.04, "c": 0.03}) == pytest.approx({"a": 0.03, "b": 0.06, "c": 0.06})
    assert holm_adjusted({"x": 0.6, "y": 0.9}) == {"x": 1.0, "y": 1.0}
    assert holm_adjusted({"only": 0.2}) == {"only": 0.2}
    assert list(holm_adjusted({"b": 0.5, "a": 0.001})) == ["b", "a"]  # the caller's order


def test_numbers_for_the_prose_come_from_the_runs_and_records():
    from vmp.book.report import layer_numbers, recorded_numbers, single_run_numbers

    single = single_run_numbers({"frames": 0.5, "vmp": 0.25}, {"frames": (0.5, 60), "vmp": (0.25, 60)}, 1 / 6)
    assert single["top1_frames"] == "50.0%" and single["chance"] == "16.7%"
    assert float(single["p_frames"]) < 1e-6 < float(single["p_vmp"])
    # the p-value is the one the check reads: the same share on five times the fresh clips is surer
    fresh = single_run_numbers({"vmp": 0.25}, {"vmp": (0.25, 300)}, 1 / 6)
    assert fresh["top1_vmp"] == "25.0%" and float(fresh["p_vmp"]) < 0.01 < float(single["p_vmp"])
    layer = layer_numbers([30.0, 20.0], [0.1, -0.2], {0.0: (9.6, -0.15), 1.0: (12.0, -0.6)})
    assert (layer["slope_start"], layer["shift_end"], layer["authors_slopes"]) == ("30.0", "-0.200", "9.6 to 12.0")
    assert layer["still_end"] == f"{1 / (1 + math.exp(20.0 * -0.2)):.3f}"
    records = recorded_numbers({"frames": [0.5, 0.6, 0.7], "difference": [0.4, 0.8, 0.7], "vmp": [0.6, 0.5, 0.75]},
                               60, 1 / 6)
    assert (records["wins_frames"], records["wins_difference"], records["seeds"]) == ("2", "2", "3")
    assert records["mean_vmp"] == "61.7%" and records["lowest"] == "40.0%"


def test_tables_round_per_seed_values_intervals_and_the_recipe_choice():
    from vmp.book.report import interval_table, per_seed_table, selection_table
    from vmp.stats.paired_t import Interval

    table = per_seed_table({"frames": {0: 0.5833333333333334, 1: 0.85}, "VMP": {0: 0.6, 1: 0.8}})
    assert table.splitlines()[0] == "| input | seed 0 | seed 1 | mean |"
    assert "| frames | 58.3% | 85.0% | 71.7% |" in table
    intervals = {("VMP", "frames"): Interval(0.017, -0.016, 0.049, 5, 0.95)}
    assert "| VMP − frames | +1.7 | -1.6 to +4.9 | not resolved |" in interval_table(intervals)
    records = {"chosen": {"lr": 0.003, "prompt_lr": None}, "select_inputs": ["difference"],
               "selection": {"lr": {"0.001": 0.5555555555555556, "0.003": 0.6666666666666667},
                             "prompt_lr": {"0.03": 0.6166666666666667, "None": 0.8}}}
    rows = selection_table(records).splitlines()[2:]
    assert rows[0] == "| learning rate (difference input) | 0.001 | 55.6% |  |"
    assert rows[1].endswith("| 0.003 | 66.7% | ✓ |")
    assert rows[3] == "| the layer's learning rate (VMP) | the backbone's (0.003) | 80.0% | ✓ |"


def test_the_speed_benchmark_printout_reads_as_numbers():
    from pathlib import Path

    from vmp.book.report import read_speed_benchmark

    text = (Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "bench_motion_prompt.txt").read_text()
    regimes = read_speed_benchmark(text)
    assert list(regimes) == ["glibc default", "freed memory reused"]
    for numbers in regimes.values():
        times, ratios = numbers["times_ms"], numbers["ratios"]
        assert {"ours fwd", "authors fwd+bwd", "floor fwd"} <= set(times)
        assert ratios["authors / ours, forward"] == pytest.approx(times["authors fwd"] / times["ours fwd"], rel=0.03)
        assert numbers["memory"]["ours, inference"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="allocation regime"):
        read_speed_benchmark("nothing here")


def test_speed_benchmark_chart_has_a_panel_per_regime_and_one_for_memory():
    import matplotlib

    matplotlib.use("Agg")
    from vmp.book.viz import speed_benchmark_chart

    regimes = {name: {"times_ms": {"ours fwd": 5.0, "ours fwd+bwd": 20.0, "authors fwd": 70.0,
                                   "authors fwd+bwd": 110.0},
                      "memory": {"ours, inference": 1.0, "authors, inference": 3.1}} for name in ("a", "b")}
    figure = speed_benchmark_chart(regimes)
    assert [axis.get_title() for axis in figure.axes] == ["allocation: a", "allocation: b", "peak memory"]
    assert len(figure.axes[0].patches) == 4 and len(figure.axes[2].patches) == 2


def test_a_run_checked_on_fresh_clips_glues_each_number_once(monkeypatch):
    from types import SimpleNamespace

    import torch
    from torch.utils.data import TensorDataset

    from vmp.book import report
    from vmp.models import build_model
    from vmp.stats.significance import chance_p_value

    glued = []
    monkeypatch.setattr(report, "glue_all", lambda numbers: glued.extend(numbers.items()))
    torch.manual_seed(0)
    fresh = TensorDataset(torch.randn(90, 3, 5, 32, 32), torch.arange(90) % 6)
    runs = {"frames": SimpleNamespace(test={"top1": 0.3}, history=[], model=build_model("tiny3d", 6, 4, 32,
                                                                                         input="frames"))}
    try:
        report.fine_tuning_run_facts(runs, 60, 1 / 6, None, guessing_set=fresh)
    except AssertionError as error:  # an untrained model is not above chance, and the check says so
        assert "not above chance" in str(error)
    keys = [key for key, _ in glued]
    assert len(keys) == len(set(keys))  # a duplicate glue key fails the book's build
    values = dict(glued)
    assert values["guess_clips"] == "90" and values["top1_frames"] == "30.0%"
    correct = round(float(values["guess_top1_frames"].rstrip("%")) / 100 * 90)  # glued to a tenth of a point
    assert values["p_frames"] == f"{chance_p_value(correct / 90, 90, 1 / 6):.0e}"  # from the fresh clips
