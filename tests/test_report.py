"""Result tables: summaries over seeds and Markdown rendering."""

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
