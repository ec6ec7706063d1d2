"""Write the student notebooks: every chapter without its solutions and outputs, its MyST rendered.

Run: ``python tools/student_notebooks.py`` (``make student``; ``--check`` only reports notebooks that
are missing or out of date, as the tests do). The notebooks go to ``student/book/``, which is what the
book's Colab buttons open (``repository.path_to_book: student`` in ``_config.yml``). In each one:

- cells tagged ``solution`` (the folded answers of the published book) are dropped; everything else,
  exercises and their automatic checks included, is kept, without outputs;
- Markdown reads as the HTML page does: Colab shows CommonMark, so the MyST roles and directives are
  written out by ``myst_to_markdown`` (glued values from the chapter's committed outputs, citations
  linked to ``references.ipynb``, written here from ``references.bib``, admonitions as block quotes,
  equation numbers); a figure's caption follows the cell that draws it; Markdown cells the page
  removes (``remove-cell``) or that hold only print material are left out;
- code cells the page hides or removes are collapsed: a Colab form (``cellView: form``) whose title,
  its first line ``# @title ...``, is the cell's leading comment (a hidden cell must have one).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))

from myst_to_markdown import Book

ROOT = Path(__file__).resolve().parent.parent
STUDENT = ROOT / "student" / "book"
REFERENCES = "references.ipynb"  # the bibliography's notebook beside the chapters, where citations link
SOLUTION_TAG = "solution"
HIDDEN_TAGS = ("hide-input", "remove-input", "hide-cell", "remove-cell")  # code the HTML page does not show
TITLE = "# @title "
TITLE_WIDTH = 100


def chapters(book: Path = ROOT / "book") -> list[Path]:
    return sorted(book.glob("[0-9][0-9]_*.ipynb"))


def load_book(root: Path = ROOT) -> Book:
    """What rendering the chapters' MyST needs, with links between the student notebooks."""
    return Book.load(root, {path.name for path in chapters(root / "book")}, REFERENCES)


def colab_title(source: str, caption: str = "") -> str:
    """A hidden cell's Colab form title: the first sentence of its leading comment (else of its first
    full-line comment, else "Figure: " and its figure caption's), on one line."""
    lines = [line.strip() for line in source.split("\n")]
    comments = (i for i, line in enumerate(lines) if line.startswith("#") and not line.startswith(("#!", "# @", "#@")))
    start = next(comments, None)
    comment = []
    for line in lines[start:] if start is not None else []:
        if not line.startswith("#"):
            break
        comment.append(line.lstrip("#").strip())
    text = " ".join(part for part in comment if part)
    if not text and caption:
        text = "Figure: " + re.sub(r"[$*`]", "", caption)
    if not text:
        raise ValueError("a cell hidden on the web page needs a comment saying what it does "
                         f"(it becomes its Colab title):\n{source[:200]}")
    sentence = re.split(r"(?<=[.;:])\s(?=[^a-z0-9])|;\s", text.removeprefix("Figure: "))[0].rstrip(".;: ")
    sentence = ("Figure: " if text.startswith("Figure: ") else "") + sentence
    if len(sentence) > TITLE_WIDTH:  # asides in parentheses go first, so that the title fits a line
        sentence = re.sub(r"\s*\([^()]*\)", "", sentence)
    return sentence[0].upper() + sentence[1:]


def without_title(source: str) -> str:
    """A student cell's source without the Colab title line this tool added."""
    return source.split("\n", 1)[1] if source.startswith(TITLE) else source


def student_version(notebook: nbformat.NotebookNode, book: Book | None = None,
                    name: str = "notebook.ipynb") -> nbformat.NotebookNode:
    """A copy of ``notebook`` (page ``name`` of ``book``) as students open it: no solutions, no outputs,
    MyST rendered, hidden code collapsed. Without ``book``, the notebook is a book of one page."""
    if book is None:
        from myst_to_markdown import page_of

        book = Book({name: page_of(name, notebook, None)}, {}, REFERENCES)
    copy = nbformat.from_dict(notebook)
    cells = []
    for cell in copy.cells:
        tags = cell.metadata.get("tags", [])
        if SOLUTION_TAG in tags:
            continue
        cell.metadata.pop("execution", None)
        if cell.cell_type == "markdown":
            if "remove-cell" in tags:
                continue
            cell.source = book.render(cell.source, name)
            if cell.source.strip():
                cells.append(cell)
            continue
        if cell.cell_type == "code":
            caption = book.caption(cell, name)
            cell.outputs, cell.execution_count = [], None
            if any(tag in tags for tag in HIDDEN_TAGS):
                figure = cell.metadata.get("mystnb", {}).get("figure", {}).get("caption", "")
                cell.source = f"{TITLE}{colab_title(cell.source, str(figure))}\n{cell.source}"
                cell.metadata["cellView"] = "form"
            cells.append(cell)
            if caption:
                figure = nbformat.v4.new_markdown_cell(caption)
                figure.id = f"{cell.get('id', 'figure')}-caption"[:64]
                cells.append(figure)
            continue
        cells.append(cell)
    copy.cells = cells
    copy.metadata.pop("widgets", None)
    return copy


def render(notebook: nbformat.NotebookNode) -> str:
    return nbformat.writes(notebook) + "\n"


def expected(root: Path = ROOT) -> tuple[dict[str, str], dict[str, str]]:
    """Every student notebook's text by file name (the chapters and the references), and the error of
    each chapter that cannot be rendered (a glued value its committed outputs lack, unknown MyST)."""
    book = load_book(root)
    texts, errors = {}, {}
    for path in chapters(root / "book"):
        try:
            texts[path.name] = render(student_version(nbformat.read(path, as_version=4), book, path.name))
        except ValueError as error:  # MystError, or a hidden cell without a comment
            errors[path.name] = f"{path.name}: {error}".replace(f"{path.name}: {path.name}: ", f"{path.name}: ")
    texts[REFERENCES] = render(book.references_notebook())
    return texts, errors


def stale(texts: dict[str, str], folder: Path = STUDENT) -> list[str]:
    """The notebooks in ``folder`` that are missing or differ from ``texts``."""
    return [name for name, text in texts.items()
            if not (folder / name).is_file() or (folder / name).read_text() != text]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report stale notebooks and exit 1, write nothing")
    args = parser.parse_args()
    texts, errors = expected()
    outdated = stale(texts)
    if not args.check:
        STUDENT.mkdir(parents=True, exist_ok=True)
        for name in outdated:
            (STUDENT / name).write_text(texts[name])
    print(f"{len(outdated)} student notebook(s) {'stale' if args.check else 'written'}")
    if errors:
        sys.exit("cannot render: " + "; ".join(errors.values()))
    if args.check and outdated:
        sys.exit(f"student notebooks missing or out of date: {outdated} (run make student)")


if __name__ == "__main__":
    main()
