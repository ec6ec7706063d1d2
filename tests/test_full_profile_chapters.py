"""Every training chapter runs to its end under ``PROFILE = "full"``, on local stand-ins.

The full profile needs a GPU, the UCF101 subset and Kinetics weights; none is available to the
tests. Each chapter is executed with its profile switched to ``"full"`` after a stand-in cell that
(1) serves a small generated data set as the "downloaded" UCF101 subset, (2) serves fresh networks
of the right architecture (400 classes) as the Kinetics checkpoints and a small Kinetics-shaped
TimeSformer saved on disk as its hub model, and (3) scales the full profile's clip sizes and
schedule down (4+1 frames of 32 pixels, 8 epochs of AdamW) so that a CPU finishes. Everything
after the stand-in cell is the chapter as published: its full-profile branches, and the
assertions it makes under that profile.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from nbclient import NotebookClient
from stand_ins import BOOK, CHAPTERS, full_profile_version, write_stand_ins

pytestmark = pytest.mark.slow  # four chapters executed: minutes (make unit runs them)


@pytest.fixture(scope="module")
def stand_in(tmp_path_factory) -> Path:
    """The stand-in data set and the Kinetics-shaped TimeSformer, written once for all chapters."""
    return write_stand_ins(tmp_path_factory.mktemp("stand_in"))


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_runs_to_its_end_under_the_full_profile(chapter, stand_in):
    notebook = full_profile_version(chapter, stand_in)
    client = NotebookClient(notebook, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(BOOK)}})
    client.execute()  # raises CellExecutionError, naming the cell, if an assertion fails
    outputs = "".join(output.get("text", "") for cell in notebook.cells
                      if cell.cell_type == "code" for output in cell.get("outputs", []))
    assert "weights: kinetics" in outputs or chapter == "06_training_loop"
    assert "['class0', 'class1', 'class2']" in outputs  # the stand-in data, not the book's
