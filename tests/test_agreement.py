"""One run against the book's records: inside the band it agrees, outside it raises on a CPU and reports on a GPU."""

from __future__ import annotations

import pytest
import torch

import vmp.agreement as agreement
from vmp.agreement import TOP1_TOLERANCE, check_against_records


def test_a_run_inside_the_widened_range_agrees(capsys):
    result = check_against_records("vmp", 0.55, [0.65, 0.80, 0.85], tolerance=0.10, strict=True)
    assert result.agrees and result.low == pytest.approx(0.55) and result.high == pytest.approx(0.95)
    assert capsys.readouterr().out.strip() == (
        "vmp: your run 55.0%; the book's 3 seeds 65.0% to 85.0% (band 55.0% to 95.0%): agrees")


def test_a_run_outside_raises_on_the_reference_run_naming_both_numbers():
    with pytest.raises(AssertionError, match=r"frames: your run 30.0%; the book's 3 seeds 58.3% to 86.7% .*outside"):
        check_against_records("frames", 0.30, [0.583, 0.85, 0.867], strict=True)
    with pytest.raises(AssertionError, match=r"slope: your run 9.00; the book's run 20.19 \(band 16.19 to 24.19\)"):
        check_against_records("slope", 9.0, [20.19], tolerance=4.0, percent=False, strict=True)


def test_on_a_gpu_the_cell_reports_and_goes_on(monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert not agreement.reference_run()
    result = check_against_records("vmp", 0.20, [0.65, 0.80])
    assert not result.agrees and "outside the band" in capsys.readouterr().out
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(AssertionError):
        check_against_records("vmp", 0.20, [0.65, 0.80])


def test_the_band_edges_and_bad_arguments():
    assert check_against_records("x", 0.65 - TOP1_TOLERANCE, [0.65, 0.7], strict=True).agrees
    assert not check_against_records("x", 0.65 - TOP1_TOLERANCE - 1 / 60, [0.65, 0.7], strict=False).agrees
    with pytest.raises(ValueError, match="no recorded runs to compare 'x' with"):
        check_against_records("x", 0.5, [])
    with pytest.raises(ValueError, match="tolerance must be >= 0"):
        check_against_records("x", 0.5, [0.5], tolerance=-0.1)
    assert "+0.114" in check_against_records("shift", 0.114, [0.1], 0.05, percent=False, strict=True).line()


def test_an_accuracy_band_stays_within_0_and_1_and_a_slope_band_does_not():
    assert check_against_records("x", 0.95, [0.9], strict=True).high == 1.0
    assert check_against_records("x", 0.05, [0.1], strict=True).low == 0.0
    assert check_against_records("slope", 1.0, [0.5], 7.0, percent=False, strict=True).low == pytest.approx(-6.5)


def test_check_fine_tuning_checks_every_input_and_the_layers_end_point(capsys):
    from types import SimpleNamespace

    from vmp.agreement import check_fine_tuning

    records = {"final": {"frames": [{"test_top1": 0.6}, {"test_top1": 0.7}],
                         "vmp": [{"test_top1": 0.5, "slope": [30, 20.0], "shift": [0.1, 0.2]},
                                 {"test_top1": 0.6, "slope": [30, 24.0], "shift": [0.1, 0.25]}]}}

    def run(top1, slope=None, shift=None):
        return SimpleNamespace(test={"top1": top1}, history=[{"slope": slope, "shift": shift}])

    check_fine_tuning({"frames": run(0.65), "vmp": run(0.55, 22.0, 0.22)}, records)
    assert capsys.readouterr().out.count("agrees") == 4  # two inputs, the slope and the shift
    with pytest.raises(AssertionError, match="shift"):
        check_fine_tuning({"frames": run(0.65), "vmp": run(0.55, 22.0, 0.5)}, records)
    with pytest.raises(AssertionError, match="frames"):
        check_fine_tuning({"frames": run(0.2), "vmp": run(0.55, 22.0, 0.22)}, records)
