"""The full profile's local stand-ins: a small generated "UCF101 subset", fresh "Kinetics" networks
and a scaled schedule, so that chapters 6-9 run their ``PROFILE = "full"`` branches on a CPU.

Used by ``tests/test_full_profile_chapters.py`` and by ``benchmarks/stochastic_margins.py``, which
measures how far the chapters' assertions under this profile hold on other code paths and threads.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np

from vmp.data.writing import write_video

BOOK = Path(__file__).resolve().parent.parent / "book"
#: The stand-in schedule: AdamW, which learns the stand-in task from random weights in a few epochs.
EPOCHS, LR = 8, 1e-3
CHAPTERS = ("06_training_loop", "07_slowfast", "08_x3d", "09_timesformer")
#: 3 classes, each with its own background colour (a cue in the frames) and its own flicker, the
#: whole frame brightening and darkening by turns (a cue in the differences), with a white square
#: moving across: any input is learned in a few epochs even from random weights.
COLOURS, FLICKER = ((150, 70, 70), (70, 150, 70), (70, 70, 150)), (0, 30, 60)
#: First clip number and clips per class. 40 test clips per class (120 in all): a run that learned
#: the task is far above chance (p < 0.01 needs 53 of 120 right), where 8 per class left one
#: weak-but-learned input (14 of 24) on the threshold on some CPUs.
SPLITS = {"train": (0, 24), "val": (100, 8), "test": (200, 40)}

STAND_IN_CELL = """
import dataclasses
from pathlib import Path

import vmp.data.download
import vmp.experiment
import vmp.models.backbones as backbones

stand_in = Path({folder!r})
# (1) the "UCF101 subset"
vmp.data.download.ucf101_subset = lambda cache=None, **options: stand_in / "ucf101"
# (2) "Kinetics" weights: a fresh 400-class network of the architecture asked for
backbones._fetch_state_dict = lambda url, name: backbones.BUILDERS[name](400, 4, 32, None).state_dict()
backbones.TIMESFORMER_HUB["kinetics"] = str(stand_in / "k400")
# (3) the full profile at a CPU's sizes and schedule; the chapters' own sizes (32 frames, 160 px...)
# are ignored
SCALED = {{"frames": 4, "crop": 32, "short_side": 36, "epochs": {epochs}, "lr": {lr}, "optimizer": "adamw",
           "workers": 0}}
full_profile = vmp.experiment.get_profile


def scaled_profile(name, **changes):
    kept = {{key: value for key, value in changes.items() if name != "full" or key not in SCALED}}
    profile = full_profile(name, **kept)
    return dataclasses.replace(profile, **SCALED) if name == "full" else profile


vmp.experiment.get_profile = scaled_profile
"""


def stand_in_clip(label: int, number: int) -> np.ndarray:
    """9 frames of 40 x 40 pixels of class ``label``; ``number`` places the square."""
    rng = np.random.default_rng(1000 * label + number)
    x, y = (int(v) for v in rng.integers(2, 20, size=2))
    frames = np.empty((9, 40, 40, 3), np.uint8)
    for t in range(9):
        frames[t] = np.add(COLOURS[label], FLICKER[label] * (t % 2))
        left = (x + 2 * t) % 30
        frames[t, y:y + 10, left:left + 10] = 255
    return frames


def write_stand_ins(folder: Path) -> Path:
    """Write the stand-in data set and the Kinetics-shaped TimeSformer into ``folder``; return it."""
    from transformers import TimesformerConfig, TimesformerForVideoClassification

    for split, (first, count) in SPLITS.items():
        for label in range(len(COLOURS)):
            for number in range(count):
                path = folder / "ucf101" / split / f"class{label}" / f"{split}_{number:03d}.mp4"
                write_video(path, stand_in_clip(label, first + number))
    TimesformerForVideoClassification(TimesformerConfig(
        num_frames=8, image_size=64, patch_size=16, hidden_size=48, num_hidden_layers=2,
        num_attention_heads=2, intermediate_size=96, num_labels=400)).save_pretrained(folder / "k400")
    return folder


def full_profile_version(chapter: str, folder: Path) -> nbformat.NotebookNode:
    """The chapter with the stand-ins first and its profile switched to ``"full"``."""
    notebook = nbformat.read(BOOK / f"{chapter}.ipynb", as_version=4)
    switch = next(cell for cell in notebook.cells
                  if cell.cell_type == "code" and '\nPROFILE = "book"\n' in cell.source)
    switch.source = switch.source.replace('\nPROFILE = "book"\n', '\nPROFILE = "full"\n', 1)
    position = notebook.cells.index(switch)
    stand_ins = STAND_IN_CELL.format(folder=str(folder), epochs=EPOCHS, lr=LR)
    notebook.cells.insert(position, nbformat.v4.new_code_cell(stand_ins))
    return notebook
