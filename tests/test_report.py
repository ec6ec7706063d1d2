"""Result tables: summaries over seeds and Markdown rendering."""

import math

import pytest

from vmp.report import markdown_table, mean_and_spread, percent


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
    from vmp.report import seed_table

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
