"""What the book's live playground page needs from the package, written into the page when it is built.

The page computes the VMP layer in the reader's browser; its gray weights, slope and shift bounds
and starting values come from here (so from :mod:`vmp.prompt` itself), with the (slope, shift)
the book's fine-tuned layers ended at and the values the authors' page lists, to load with a button.
"""

from __future__ import annotations

import json
from pathlib import Path

from vmp.data.transforms import KINETICS_MEAN
from vmp.models.registry import BACKBONE_NAMES  # the backbones the book fine-tunes, by its names
from vmp.prompt import BT601_RGB, DEFAULT_START, SHIFT_BOUND, SLOPE_RANGE
from vmp.reference import authors_slope_shift


def playground_constants(finetune_records: str | Path | None = None) -> dict:
    """The page's constants: gray weights, bounds, the default start, the mean colour the prompts are
    normalised about (chapter 3's, so attention 0 shows it), the authors' values per λ, and (from
    ``finetune.json``, if given) each backbone's fine-tuned layer at seed 0."""
    constants = {
        "bt601": list(BT601_RGB),
        "slope_min": SLOPE_RANGE[0], "slope_max": SLOPE_RANGE[1], "shift_bound": SHIFT_BOUND,
        "default_start": list(DEFAULT_START), "prompt_mean": list(KINETICS_MEAN),
        "authors": [[f"{lam:g}", round(a, 4), round(b, 4)] for lam, (a, b) in sorted(authors_slope_shift().items())],
        "book": {},
    }
    if finetune_records is not None:
        records = json.loads(Path(finetune_records).read_text())
        for backbone, name in BACKBONE_NAMES.items():
            runs = records.get(backbone, {}).get("final", {}).get("vmp", [])
            first = next((run for run in runs if run["seed"] == 0), None)
            if first is not None:
                constants["book"][name] = [round(first["slope"][-1], 4), round(first["shift"][-1], 4)]
    return constants


def constants_script(finetune_records: str | Path | None = None) -> str:
    """The constants as the script the page loads before its own."""
    return "window.VMP_CONSTANTS = " + json.dumps(playground_constants(finetune_records), indent=1) + ";\n"

