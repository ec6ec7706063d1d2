"""The book's chapters as files: the Colab set-up cell agrees with _config.yml in every chapter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import colab_cells  # noqa: E402


def test_every_chapter_sets_colab_up_from_config():
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "colab_cells.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    chapters = [path for path in colab_cells.chapters() if path.name != "00_preface.ipynb"]
    assert chapters and all(
        colab_cells.setup_cell_index(nbformat.read(path, as_version=4)) is not None for path in chapters
    )


def test_the_colab_cell_is_pinned_and_fails_loudly(tmp_path):
    config = tmp_path / "_config.yml"
    config.write_text("repository:\n  url: https://example.org/book\n  branch: v9.9\n")
    source = colab_cells.setup_cell_source(config, version="9.9")
    assert '"https://example.org/book", "v9.9"' in source and '"--branch", tag' in source
    assert 'installed_version("vmp") == "9.9"' in source  # nothing to do once that version is there
    assert source.count("check=True") == 2  # clone and install raise on failure, unlike !git clone
    with pytest.raises(ValueError, match="https"):
        config.write_text("repository:\n  url: http://example.org/book\n  branch: v9.9\n")
        colab_cells.setup_cell_source(config, version="9.9")
    with pytest.raises(ValueError, match=r"branch is 'main', but the package is version 9.9: set it to 'v9.9'"):
        config.write_text("repository:\n  url: https://example.org/book\n  branch: main\n")
        colab_cells.setup_cell_source(config, version="9.9")


def test_one_version_everywhere():
    """The tag the buttons open, the package's version and what the cell installs agree."""
    import vmp

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["repository"]["branch"] == f"v{colab_cells.package_version()}" == f"v{vmp.__version__}"
    assert config["repository"]["path_to_book"] == "student"
    for path in colab_cells.chapters():
        notebook = nbformat.read(path, as_version=4)
        index = colab_cells.setup_cell_index(notebook)
        if index is not None:  # left out of the published page, kept in the notebook
            assert colab_cells.HIDDEN_TAG in notebook.cells[index].metadata.get("tags", []), path.name


def test_student_notebooks_are_current_and_hold_no_solutions():
    import student_notebooks

    result = subprocess.run([sys.executable, str(ROOT / "tools" / "student_notebooks.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    for path in colab_cells.chapters():
        book = nbformat.read(path, as_version=4)
        student = nbformat.read(student_notebooks.STUDENT / path.name, as_version=4)
        kept = [cell.source for cell in book.cells
                if cell.cell_type == "code" and "solution" not in cell.metadata.get("tags", [])]
        code = [student_notebooks.without_title(cell.source) for cell in student.cells if cell.cell_type == "code"]
        assert code == kept, path.name  # the code as the book has it, hidden cells under a Colab title
        solutions = {cell.id for cell in book.cells if "solution" in cell.metadata.get("tags", [])}
        assert not solutions & {cell.get("id") for cell in student.cells}, path.name
        assert not any("Solution" in cell.source.split("\n")[0] for cell in student.cells), path.name
        assert all(not cell.get("outputs") for cell in student.cells), path.name
    exercises = nbformat.read(ROOT / "book" / "12_exercises.ipynb", as_version=4)
    assert sum("solution" in cell.metadata.get("tags", []) for cell in exercises.cells) >= 14


def test_a_solution_cell_is_dropped_and_outputs_cleared():
    import student_notebooks

    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("## Exercise"),
        nbformat.v4.new_code_cell("answer = 42", metadata={"tags": ["solution"]}),
        nbformat.v4.new_code_cell("assert answer == 42", outputs=[nbformat.v4.new_output("stream", text="ok")]),
    ])
    student = student_notebooks.student_version(notebook)
    assert [cell.source for cell in student.cells] == ["## Exercise", "assert answer == 42"]
    assert student.cells[1].outputs == [] and len(notebook.cells) == 3  # the book's notebook is untouched


def test_the_training_chapters_left_to_other_cpus_are_the_ones_it_runs():
    """make notebooks skips exactly the chapters make other-cpus runs under nbval twice."""
    import re

    sys.path.insert(0, str(ROOT / "tests" / "cpus"))
    from test_other_cpus import TRAINING_CHAPTERS

    line = re.search(r"^TRAINING_CHAPTERS := (.*)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert line and line.group(1).split() == TRAINING_CHAPTERS
    assert all((ROOT / "book" / f"{chapter}.ipynb").is_file() for chapter in TRAINING_CHAPTERS)


def test_every_glued_number_the_prose_names_is_in_the_executed_chapter():
    """A {glue:text} role whose key no cell glued would fail the build; find it without building."""
    import re

    for path in sorted((ROOT / "book").glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        glued = {output.get("metadata", {}).get("scrapbook", {}).get("name")
                 for cell in notebook.cells if cell.cell_type == "code" for output in cell.get("outputs", [])}
        named = {key for cell in notebook.cells if cell.cell_type == "markdown"
                 for key in re.findall(r"\{glue(?::\w+)?\}`([^`]+)`", cell.source)}
        assert named <= glued, f"{path.name}: the prose names {sorted(named - glued)}, which no cell glued"


def test_the_backbone_chapters_share_their_machinery_instead_of_repeating_it():
    """Chapters 7-9 fine-tune three backbones the same way: the shared steps live in the package
    (vmp.experiment, vmp.book.report, vmp.book.viz, vmp.stats.agreement), so no chapter repeats another's code
    cells, and no code cell writes the prose (numbers reach it through glue)."""
    import ast
    import difflib

    # the Colab cell is written by a tool; the configuration cell (PROFILE, the backbone, its imports) is
    # each chapter's own by definition
    chapters = {name: [cell.source for cell in nbformat.read(ROOT / "book" / f"{name}.ipynb", as_version=4).cells
                       if cell.cell_type == "code" and not cell.source.startswith(colab_cells.MARK)
                       and '\nPROFILE = "book"\n' not in cell.source]
                for name in ("07_slowfast", "08_x3d", "09_timesformer")}
    names = list(chapters)
    for index, first in enumerate(names):
        for second in names[index + 1:]:
            for cell in chapters[first]:
                if len(ast.parse(cell).body) < 5:
                    continue  # a few calls of shared helpers (however wrapped) is what sharing looks like
                for other in chapters[second]:
                    similarity = difflib.SequenceMatcher(None, cell, other).ratio()
                    assert similarity < 0.9, f"{first} and {second} repeat a cell ({similarity:.0%} alike):\n{cell}"
    for name, cells in chapters.items():
        assert not any("display(Markdown(\n" in cell or "display(Markdown(\"\\n\".join" in cell for cell in cells), \
            f"{name}: a cell writes prose with display(Markdown(...)); glue its numbers into the text instead"


def test_concept_questions_are_plain_html():
    """A question's <summary> is raw HTML: Markdown code spans or $math$ there would show as typed."""
    import re

    for path in sorted((ROOT / "book").glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            for question in re.findall(r"<summary>(.*?)</summary>", cell.source, re.S):
                assert "`" not in question and "$" not in question, f"{path.name}: {question!r}"
