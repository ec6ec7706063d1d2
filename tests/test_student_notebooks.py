"""The student notebooks read as the HTML pages do: no MyST left, the same glued numbers, hidden code
collapsed with a title; and the renderer (tools/myst_to_markdown.py) on each kind of MyST the book uses."""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path

import nbformat
import pytest
from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import myst_to_markdown as myst  # noqa: E402
import student_notebooks  # noqa: E402

STUDENT_NOTEBOOKS = sorted((ROOT / "student" / "book").glob("*.ipynb")) + sorted(
    (ROOT / "student" / "assignments").glob("*/*.ipynb"))
COMMONMARK = MarkdownIt("commonmark")
# what MyST leaves behind when a CommonMark renderer reads it, in the source and in the HTML
LEFT_IN_SOURCE = {
    "role": re.compile(r"\{[A-Za-z][\w:.+-]*\}`"),
    "directive fence": re.compile(r"^\s*(`{3,}|~{3,}|:{3,})\s*\{", re.M),
    "colon fence": re.compile(r"^\s*:::", re.M),
    "target": re.compile(r"^\s*\([^()\s]+\)=\s*$", re.M),
    "equation label": re.compile(r"\$\$[ \t]*\([\w:.-]+\)"),
}
LEFT_IN_HTML = {
    "role": re.compile(r"\{[A-Za-z][\w:.+-]*\}<code>"),
    "directive": re.compile(r'class="language-\{'),
    "target": re.compile(r"<p>\([^()\s]+\)=</p>"),
    "colon fence": re.compile(r"<p>:::"),
}
HIDDEN = ("hide-input", "remove-input", "hide-cell", "remove-cell")


def plain_text(markdown: str) -> str:
    """What a reader sees of a Markdown cell: CommonMark's HTML without its tags."""
    return html.unescape(re.sub(r"<[^>]+>", "", COMMONMARK.render(markdown)))


@pytest.mark.parametrize("path", STUDENT_NOTEBOOKS, ids=lambda path: path.name)
def test_no_myst_is_left_in_a_student_notebook(path):
    notebook = nbformat.read(path, as_version=4)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "markdown":
            continue
        rendered = COMMONMARK.render(cell.source)
        for kind, pattern in LEFT_IN_SOURCE.items():
            assert not pattern.search(cell.source), f"{path.name} cell {index}: a MyST {kind} is left: {cell.source}"
        for kind, pattern in LEFT_IN_HTML.items():
            assert not pattern.search(rendered), f"{path.name} cell {index}: CommonMark shows a MyST {kind}"


def glue_values(notebook: nbformat.NotebookNode, cell: nbformat.NotebookNode) -> list[str]:
    """The values a cell's glue roles show in the HTML page, formatted by MyST-NB itself."""
    from myst_nb.core.variables import format_plain_text

    glued = myst.glued_outputs(notebook)
    values = []
    for content in re.findall(r"\{glue:text\}`([^`]+)`", cell.source):
        key, spec = content.rsplit(":", 1) if ":" in content else (content, "s")
        assert key in glued, f"the prose names {key!r}, which no committed output glued"
        values.append(format_plain_text(glued[key]["text/plain"], spec))
    return values


def in_order(text: str, values: list[str]) -> bool:
    """Whether every value appears in ``text`` in order, each a whole number (no digit runs on)."""
    position = 0
    for value in values:
        match = re.compile(rf"(?<![\d.]){re.escape(value)}(?![\d])").search(text, position)
        if match is None:
            return False
        position = match.end()
    return True


@pytest.mark.parametrize("path", student_notebooks.chapters(), ids=lambda path: path.name)
def test_every_glued_number_in_a_student_notebook_is_the_html_pages(path):
    """The values come from the chapter's committed outputs, which the HTML build shows; where a
    build of the committed outputs is at hand (_build/committed/_build/html, from make build-check),
    its pasted values agree too (tests/browser/test_student_numbers.py requires it)."""
    book = nbformat.read(path, as_version=4)
    student_notebook = nbformat.read(student_notebooks.STUDENT / path.name, as_version=4)
    student = {cell.get("id"): cell for cell in student_notebook.cells}
    on_page = []
    for cell in book.cells:
        tags = cell.metadata.get("tags", [])
        if cell.cell_type != "markdown" or "remove-cell" in tags or "{glue" not in cell.source:
            continue
        values = glue_values(book, cell)
        on_page += values
        if "solution" in tags:
            continue  # on the web page, not in the student notebook
        shown = plain_text(student[cell.id].source)
        assert "{glue" not in shown
        assert in_order(shown, values), f"{path.name}, cell {cell.id}: expected {values} in\n{shown}"
    page = ROOT / "_build" / "committed" / "_build" / "html" / "book" / f"{path.stem}.html"
    if page.is_file():
        pasted = re.findall(r'<span class="pasted-text">(.*?)</span>', page.read_text(), re.S)
        straight = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})  # Sphinx's smart quotes
        assert [html.unescape(value).translate(straight) for value in pasted] == on_page


def test_hidden_code_is_collapsed_with_a_title():
    for path in student_notebooks.chapters():
        book = {cell.get("id"): cell for cell in nbformat.read(path, as_version=4).cells}
        for cell in nbformat.read(student_notebooks.STUDENT / path.name, as_version=4).cells:
            if cell.cell_type != "code":
                continue
            hidden = any(tag in book[cell.id].metadata.get("tags", []) for tag in HIDDEN)
            title = cell.source.split("\n", 1)[0]
            assert hidden == (cell.metadata.get("cellView") == "form") == title.startswith("# @title "), \
                f"{path.name}: {title}"
            if hidden:
                assert len(title.split()) >= 4 and len(title) <= 120, f"{path.name}: a title that says little: {title}"


def test_a_stale_or_missing_student_notebook_is_reported(tmp_path):
    texts, errors = student_notebooks.expected()
    assert texts and "references.ipynb" in texts
    for name, text in texts.items():
        (tmp_path / name).write_text(text)
    assert student_notebooks.stale(texts, tmp_path) == []
    first, second = sorted(texts)[:2]
    (tmp_path / first).write_text(texts[first].replace("#", "##", 1))
    (tmp_path / second).unlink()
    assert student_notebooks.stale(texts, tmp_path) == [first, second]


# --- the renderer, one kind of MyST at a time -------------------------------------------------------------

def one_page_book(cells: list, number: int | None = 3, bib: Path | None = None) -> tuple[myst.Book, myst.Page]:
    notebook = nbformat.v4.new_notebook(cells=cells)
    page = myst.page_of("03_x.ipynb", notebook, number)
    other = myst.Page("04_y.ipynb", 4, title="Four", equations={"eq-far": "4.2"}, sections={"far": "A far section"})
    citations = myst.read_bibliography(bib) if bib else {}
    return myst.Book({page.name: page, other.name: other}, citations, "references.ipynb"), page


def glued(name: str, value: object) -> dict:
    return nbformat.v4.new_output("display_data", data={"text/plain": repr(value)},
                                  metadata={"scrapbook": {"name": name, "mime_prefix": ""}})


def test_glue_roles_are_formatted_as_myst_nb_formats_them():
    from myst_nb.core.variables import format_plain_text

    outputs = [glued("share", 0.123456), glued("label", "+1.5 (−4.0 to +8.2)"), glued("count", 12)]
    code = nbformat.v4.new_code_cell("glue(...)", outputs=outputs)
    book, page = one_page_book([code])
    rendered = book.render("{glue:text}`share:.1%` and {glue:text}`label`, {glue:text}`count:d` and {glue}`count`",
                           page)
    assert rendered == (f"{format_plain_text(repr(0.123456), '.1%')} and +1.5 (−4.0 to +8.2), "
                        f"{format_plain_text('12', 'd')} and 12")
    with pytest.raises(myst.MystError, match="nothing glued as 'missing'"):
        book.render("{glue:text}`missing`", page)


def test_citations_read_author_year_and_link_to_the_references():
    book, page = one_page_book([], bib=ROOT / "references.bib")
    assert book.render("{cite}`chen2024vmp`", page) == "([Chen et al., 2024](references.ipynb#chen2024vmp))"
    assert book.render("{cite:t}`horn1981flow`", page) == "[Horn and Schunck](references.ipynb#horn1981flow) (1981)"
    two = book.render("{cite:p}`feichtenhofer2019slowfast,bertasius2021timesformer`", page)
    assert two.startswith("([Bertasius et al., 2021]") and "; [Feichtenhofer et al., 2019]" in two
    assert "International Telecommunication Union, 2011" in book.render("{cite}`itu2011bt601`", page)
    references = book.references_notebook().cells[0].source
    assert '<a id="chen2024vmp"></a>**Chen et al., 2024.**' in references


def test_equations_are_numbered_per_chapter_and_referenced_by_number():
    markdown = nbformat.v4.new_markdown_cell("$$ a = 1 $$ (eq-one)\n\n$$ b $$\n\n$$\nc = 2\n$$ (eq-two)")
    solution = nbformat.v4.new_markdown_cell("$$ d $$ (eq-in-solution)", metadata={"tags": ["solution"]})
    book, page = one_page_book([markdown, solution])
    assert page.equations == {"eq-one": "3.1", "eq-two": "3.2", "eq-in-solution": "3.3"}
    assert book.render(markdown.source, page) == "$$ a = 1 \\tag{3.1} $$\n\n$$ b $$\n\n$$\nc = 2 \\tag{3.2} $$"
    assert book.render("see {eq}`eq-two` and {eq}`eq-far`", page) == "see (3.2) and [(4.2)](04_y.ipynb)"
    _, unnumbered = one_page_book([markdown], number=None)
    assert unnumbered.equations["eq-two"] == "2"


def test_admonitions_become_block_quotes_and_dropdowns_fold():
    book, page = one_page_book([])
    source = "Before.\n\n```{admonition} In this chapter\n:class: tip\n\n**You will** learn.\n\n- one\n```\nAfter."
    quoted = "> **In this chapter**\n>\n> **You will** learn.\n>\n> - one"
    assert book.render(source, page) == f"Before.\n\n{quoted}\n\nAfter."  # no lazy continuation into the quote
    assert book.render(":::{note}\nShort.\n:::", page) == "> **Note**\n>\n> Short."
    folded = book.render("````{admonition} Answer\n:class: dropdown\n\n```python\nx = 1\n```\n````", page)
    assert folded == "<details>\n<summary>Answer</summary>\n\n```python\nx = 1\n```\n\n</details>"
    assert book.render("```{dropdown} Think first\nWhy?\n```", page).startswith("<details>\n<summary>Think first")
    assert "<p>" in COMMONMARK.render(folded) or "<pre>" in COMMONMARK.render(folded)


def test_only_blocks_targets_refs_and_math_roles():
    book, page = one_page_book([nbformat.v4.new_markdown_cell("(here)=\n## Right here\n\nText.")])
    assert book.render("```{only} latex\nprint only\n```", page) == ""
    assert book.render("```{only} html\nweb only\n```", page) == "web only"
    assert book.render("(here)=\n## Right here", page) == "## Right here"
    assert book.render("{ref}`here` and {ref}`the far one <far>`", page) == "Right here and [the far one](04_y.ipynb)"
    assert book.render("{math}`a^2` and `{cite}` stays code", page) == "$a^2$ and `{cite}` stays code"
    with pytest.raises(myst.MystError, match="role {unknownrole}"):
        book.render("{unknownrole}`x`", page)
    with pytest.raises(myst.MystError, match="directive {tab-set}"):
        book.render("```{tab-set}\nx\n```", page)


def test_figures_are_written_in_with_their_numbered_caption(tmp_path):
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
    image = nbformat.v4.new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"},
                                   metadata={"scrapbook": {"name": "fig", "mime_prefix": ""}})
    caption = {"mystnb": {"figure": {"caption": "A *plot*.", "name": "p"}}}
    drawn = nbformat.v4.new_code_cell("plot()", metadata=caption, outputs=[nbformat.v4.new_output(
        "display_data", data={"image/png": png, "text/plain": "<Figure>"})])  # no output, no figure
    glued_figure = nbformat.v4.new_markdown_cell("```{glue:figure} fig\n:name: g\n\nThe glued one.\n```")
    book, page = one_page_book([drawn, nbformat.v4.new_code_cell("glue()", outputs=[image]), glued_figure])
    rendered = book.render(glued_figure.source, page)
    assert rendered.startswith("![The glued one.](data:image/png;base64,iVBOR")
    assert rendered.endswith("**Fig. 3.2** The glued one.")
    assert book.caption(drawn, page) == "**Fig. 3.1** A *plot*."
    assert book.render("{numref}`g`", page) == "Fig. 3.2"
    student = student_notebooks.student_version(nbformat.v4.new_notebook(cells=[drawn]))
    assert [cell.cell_type for cell in student.cells] == ["code", "markdown"]
    assert student.cells[1].source == "**Fig. 1** A *plot*."


def test_a_hidden_cell_is_a_colab_form_titled_by_its_comment():
    cells = [nbformat.v4.new_code_cell("# numbers for the prose below, each checked; more\nx = 1",
                                       metadata={"tags": ["hide-input"]}),
             nbformat.v4.new_code_cell("import os\n\n# where the files are: the data folder\nos.getcwd()",
                                       metadata={"tags": ["remove-cell"]}),
             nbformat.v4.new_markdown_cell("Removed from the page.", metadata={"tags": ["remove-cell"]})]
    student = student_notebooks.student_version(nbformat.v4.new_notebook(cells=cells))
    assert [cell.source.split("\n")[0] for cell in student.cells] == [
        "# @title Numbers for the prose below, each checked", "# @title Where the files are: the data folder"]
    assert all(cell.metadata["cellView"] == "form" for cell in student.cells)
    assert student_notebooks.without_title(student.cells[0].source) == cells[0].source
    drawing = nbformat.v4.new_code_cell("draw()", metadata={"tags": ["hide-input"], "mystnb": {
        "figure": {"caption": "The layer: $T+1$ frames in, $T$ prompts out."}}})
    assert student_notebooks.student_version(nbformat.v4.new_notebook(cells=[drawing])).cells[0].source.startswith(
        "# @title Figure: The layer\n")
    with pytest.raises(ValueError, match="needs a comment"):
        student_notebooks.student_version(nbformat.v4.new_notebook(
            cells=[nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["hide-input"]})]))
