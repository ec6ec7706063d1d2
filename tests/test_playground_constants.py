"""The playground page's constants come from the package, and its sample clips are there."""

from __future__ import annotations

import json
from pathlib import Path

from vmp.book.playground import constants_script, playground_constants
from vmp.data.transforms import KINETICS_MEAN
from vmp.prompt import BT601_RGB, DEFAULT_START, SHIFT_BOUND, SLOPE_RANGE
from vmp.reference import authors_slope_shift

ROOT = Path(__file__).resolve().parent.parent


def test_constants_are_the_packages():
    constants = playground_constants(ROOT / "benchmarks" / "results" / "finetune.json")
    assert constants["bt601"] == list(BT601_RGB) and constants["shift_bound"] == SHIFT_BOUND
    assert (constants["slope_min"], constants["slope_max"]) == SLOPE_RANGE
    assert constants["default_start"] == list(DEFAULT_START)
    assert constants["prompt_mean"] == list(KINETICS_MEAN)  # the prompts' zero, as chapter 3 shows them
    assert constants["authors"][-1] == ["10", *(round(v, 4) for v in authors_slope_shift()[10.0])]
    assert [float(lam) for lam, _, _ in constants["authors"]] == sorted(authors_slope_shift())
    records = json.loads((ROOT / "benchmarks" / "results" / "finetune.json").read_text())
    seed0 = next(run for run in records["x3d_xs"]["final"]["vmp"] if run["seed"] == 0)
    assert constants["book"]["X3D"] == [round(seed0["slope"][-1], 4), round(seed0["shift"][-1], 4)]
    script = constants_script()
    assert script.startswith("window.VMP_CONSTANTS = ") and json.loads(script[23:].rstrip(";\n"))["book"] == {}


def test_the_book_builds_the_page_with_the_extension_and_ships_its_clips():
    config = (ROOT / "_config.yml").read_text()
    assert "vmp.book.sphinx" in config and "book/_playground" in config
    assert "book/playground" in (ROOT / "_toc.yml").read_text()
    clips = ROOT / "book" / "_playground" / "playground" / "clips"
    assert sorted(path.name for path in clips.glob("*.webm")) == ["bigbuckbunny.webm", "bikes.webm", "carphone.webm"]
