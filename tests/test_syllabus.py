"""One syllabus: the preface and the instructor page display the table vmp.book.syllabus writes from
book/syllabus.yml, with a study time per chapter beside its CPU time."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
import yaml

from vmp.book.syllabus import study_minutes, syllabus_table

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"


def test_the_table_has_one_row_per_planned_chapter_with_both_times(monkeypatch):
    plan = yaml.safe_load((BOOK / "syllabus.yml").read_text())
    monkeypatch.chdir(BOOK)  # as the preface and the instructor page call it: syllabus_table(".")
    table = syllabus_table(".").splitlines()
    planned = [number for week in plan["weeks"] for number in week["chapters"]]
    assert len(table) == 2 + len(planned)
    assert [int(row.split("|")[2]) for row in table[2:]] == planned
    assert all(re.fullmatch(r"about \d+ min", row.split("|")[3].strip()) for row in table[2:])
    assert all(re.fullmatch(r"\d+ (s|min)", row.split("|")[4].strip()) for row in table[2:]), (
        "a chapter without its CPU time"
    )
    assert sorted(planned) == list(range(13)), "every chapter is taught in some week"


def test_study_time_counts_prose_code_and_exercises(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell(" ".join(["word"] * 240)),
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_markdown_cell("**1. An exercise.** Do it."),
        nbformat.v4.new_markdown_cell("```{admonition} Solution\nnot counted\n```"),
    ])
    notebook.cells[-1].metadata["tags"] = ["solution"]
    path = tmp_path / "01_x.ipynb"
    nbformat.write(notebook, path)
    words = 240 + 5
    assert study_minutes(path, 120, 2, 20) == pytest.approx(words / 120 + 2 + 20)


def test_a_week_naming_a_missing_chapter_is_an_error(tmp_path):
    (tmp_path / "syllabus.yml").write_text(yaml.safe_dump({
        "weeks": [{"week": 1, "chapters": [42], "topics": "t", "hand_in": "h"}],
        "study": {"words_per_minute": 120, "minutes_per_code_cell": 2, "minutes_per_exercise": 20}}))
    with pytest.raises(ValueError, match=r"week 1 names chapters \[42\], which do not exist"):
        syllabus_table(tmp_path, tmp_path / "times.json")


def test_preface_and_instructor_page_show_the_same_generated_syllabus():
    for name in ("00_preface.ipynb", "instructor.ipynb"):
        cells = nbformat.read(BOOK / name, as_version=4).cells
        assert any(c.cell_type == "code" and "syllabus_table(" in c.source for c in cells), name
        assert not any(c.cell_type == "markdown" and "| week |" in c.source for c in cells), \
            f"{name} holds a hand-written syllabus table"
    times = json.loads((ROOT / "benchmarks" / "results" / "chapter_times.json").read_text())["chapters"]
    assert set(times) >= {path.name for path in BOOK.glob("[0-9][0-9]_*.ipynb")}
