"""Write the student notebooks: every chapter without its solutions and without outputs.

Run: ``python tools/student_notebooks.py`` (``make student``; ``--check`` only reports notebooks that
are missing or out of date, as the tests do). Cells tagged ``solution`` (the folded answers of the
published book) are dropped; everything else, exercises and their automatic checks included, is
kept. The notebooks go to ``student/book/``, which is what the book's Colab buttons open
(``repository.path_to_book: student`` in ``_config.yml``), so students get the exercises, not the answers.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
STUDENT = ROOT / "student" / "book"
SOLUTION_TAG = "solution"


def student_version(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``notebook`` without solution cells, outputs or execution counts."""
    copy = nbformat.from_dict(notebook)
    copy.cells = [cell for cell in copy.cells if SOLUTION_TAG not in cell.metadata.get("tags", [])]
    for cell in copy.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    copy.metadata.pop("widgets", None)
    return copy


def render(notebook: nbformat.NotebookNode) -> str:
    return nbformat.writes(notebook) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report stale notebooks and exit 1, write nothing")
    args = parser.parse_args()
    stale = []
    for path in sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb")):
        target = STUDENT / path.name
        text = render(student_version(nbformat.read(path, as_version=4)))
        if not target.is_file() or target.read_text() != text:
            stale.append(path.name)
            if not args.check:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text)
    if args.check and stale:
        sys.exit(f"student notebooks missing or out of date: {stale} (run make student)")
    print(f"{len(stale)} student notebook(s) {'stale' if args.check else 'written'}")


if __name__ == "__main__":
    main()
