"""After the HTML build: every number glued into a student notebook is the one the built page shows.

The unit test compares the student notebooks with the committed outputs, and with the pages only when
a build is at hand; ``make browser-check`` runs after ``make build-check``, so here the build must be
there, and a missing page fails.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import test_student_notebooks as unit  # (it puts tools/ on the path, for student_notebooks)

HTML = Path(__file__).resolve().parents[2] / "_build" / "committed" / "_build" / "html" / "book"


@pytest.mark.parametrize("path", unit.student_notebooks.chapters(), ids=lambda path: path.name)
def test_student_numbers_are_the_built_pages(path):
    page = HTML / f"{path.stem}.html"
    assert page.is_file(), f"{page} is missing: run make build-check first"
    unit.test_every_glued_number_in_a_student_notebook_is_the_html_pages(path)
