"""The PDF edition, read back with poppler: every chapter, no raw LaTeX or Markdown, every caption.

Run by ``make pdf-check`` (part of ``make test``) after ``make pdf`` built
``_build/pdf/_build/latex/book.pdf``. Needs poppler's ``pdftotext``, ``pdfinfo`` and ``pdfimages``
(Debian's poppler-utils, which ``.ci/run`` installs when missing).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
import yaml
from code_width import LIMIT, latex_code_cells

ROOT = Path(__file__).resolve().parents[2]
PDF = ROOT / "_build" / "pdf" / "_build" / "latex" / "book.pdf"
#: The book's length in pages, checked so that a chapter lost (or a runaway table) shows.
PAGES = (120, 260)
#: The schematics vmp.book.diagrams draws, by figure name, and the chapter each sits in.
SCHEMATICS = {"fig-preface-pipeline": "00_preface", "fig-pipeline": "03_attention_and_prompts",
              "fig-tiny3d": "06_training_loop", "fig-training-loop": "06_training_loop",
              "fig-slowfast-prompts": "07_slowfast", "fig-divided-attention": "09_timesformer"}


def poppler(tool: str, *arguments: str) -> str:
    if shutil.which(tool) is None:
        pytest.fail(f"no {tool} here: apt-get install poppler-utils (as root)")
    return subprocess.run([tool, *arguments], check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def text() -> str:
    assert PDF.is_file(), f"no {PDF}: run make pdf first"
    return poppler("pdftotext", "-layout", str(PDF), "-")


def chapters() -> list[Path]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [entry["file"] for part in toc["parts"] for entry in part["chapters"]]
    return [next(ROOT.glob(f"{name}.*")) for name in files]


def title(path: Path) -> str:
    source = path.read_text() if path.suffix == ".md" else "\n".join(
        cell.source for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "markdown")
    return re.search(r"^# (.+)$", source, re.MULTILINE).group(1).strip()


def plain(markdown: str) -> str:
    """A caption's start as it prints: the words before any math, without emphasis marks."""
    before_math = markdown.split("$")[0]
    return " ".join(re.sub(r"[*`]", "", before_math).split())


def squeezed(text: str) -> str:
    """Spaces collapsed and typographic quotes made plain, as the sources write them."""
    for curly, straight in (("\u2019", "'"), ("\u2018", "'"), ("\u201c", '"'), ("\u201d", '"')):
        text = text.replace(curly, straight)
    return " ".join(text.split())


def test_every_chapter_is_in_the_pdf(text):
    body = squeezed(text)
    for path in chapters():
        assert squeezed(title(path)) in body, f"{path.name}: its title {title(path)!r} is not in the PDF"


def test_cross_references_and_citations_are_resolved(text):
    assert "??" not in text, "an unresolved reference (LaTeX prints ??)"
    log = PDF.with_suffix(".log").read_text(errors="replace")
    assert not re.search(r"(Reference|Citation) `[^']*' .*undefined", log), "undefined references in the LaTeX log"
    assert "Bibliography" in text and "Koniusz and Zhang" in text  # the citations resolve to the bibliography


def test_no_raw_latex_or_markdown_is_left(text):
    leftovers = {
        "a LaTeX command": r"\\(begin|end|frac|sphinx\w+|mathrm|textbf)\b",
        "display math delimiters": r"\$\$",
        "a MyST role or directive": r"\{(glue:text|glue|numref|ref|cite|admonition|only|raw)\}",
        "a Markdown fence": r"```",
        "Markdown bold": r"\*\*[A-Za-z][A-Za-z ,.'-]{2,}\*\*",
        "a Markdown link": r"\]\((?!\s)[^)\s]+\.(ipynb|md)\)",
    }
    prose = "\n".join(
        line for line in text.splitlines() if not re.search(r"[\"=\[\]]|^\s*,→", line)
    )  # code lines aside
    for what, pattern in leftovers.items():
        found = re.search(pattern, prose)
        assert found is None, f"{what} in the PDF: ...{prose[max(0, found.start() - 60):found.end() + 60]}..."


def test_every_figure_caption_is_printed_with_its_number(text):
    body = squeezed(text)
    captions = [cell.metadata["mystnb"]["figure"]["caption"] for path in chapters() if path.suffix == ".ipynb"
                for cell in nbformat.read(path, as_version=4).cells
                if cell.get("metadata", {}).get("mystnb", {}).get("figure", {}).get("caption")]
    assert len(captions) >= 35
    for caption in captions:
        words = plain(caption).split()[:8]  # the start of the caption, before any math
        assert " ".join(words) in body.replace("Fig. ", "Fig."), f"caption not printed: {caption[:80]!r}"
    # the preface is front matter: its figures are numbered without a chapter ("Fig. 1:")
    assert len(re.findall(r"Fig\. \d+(?:\.\d+)?:", text)) >= len(captions)


def test_concept_questions_print_with_their_answers(text):
    body = squeezed(text)
    questions = [
        " ".join(re.sub(r"</?code>", "", q.split("$")[0]).split()[:6])
        for path in chapters()
        if path.suffix == ".ipynb"
        for cell in nbformat.read(path, as_version=4).cells
        if cell.cell_type == "markdown"
        for q in re.findall(r"<summary>(.*?)</summary>", cell.source, re.S)
    ]
    assert len(questions) >= 50
    missing = [q for q in questions if q not in body.replace("`", "")]
    assert not missing, f"questions not printed: {missing[:3]}"


def test_equations_are_typeset_and_figures_are_images():
    images = poppler("pdfimages", "-list", str(PDF)).splitlines()[2:]
    assert len(images) >= 40, f"only {len(images)} images in the PDF"
    info = poppler("pdfinfo", str(PDF))
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    assert PAGES[0] <= pages <= PAGES[1], f"{pages} pages; the book has between {PAGES[0]} and {PAGES[1]}"


def test_no_code_line_runs_past_its_cell(text):
    """Every printed code line is at most 88 characters (in the LaTeX the PDF was typeset from) and
    none wraps on the page: a wrapped line starts its second half with Sphinx's red arrow."""
    cells = latex_code_cells(PDF.with_suffix(".tex").read_text())
    assert len(cells) >= 100, f"only {len(cells)} code cells found in {PDF.with_suffix('.tex').name}"
    long = [line for cell in cells for line in cell if len(line) > LIMIT]
    assert not long, f"{len(long)} code lines over {LIMIT} characters in the PDF, such as {long[0]!r}"

    def plain_line(line: str) -> str:
        return squeezed(line).replace("\u2010", "-").replace("\u2212", "-")

    code_lines = {plain_line(line) for cell in cells for line in cell if len(line.strip()) >= 20}
    lines = text.splitlines()
    wrapped = [previous.strip() for previous, line in zip(lines, lines[1:])
               if re.match(r"\s*(,?\u2192|\u21aa)", line) and len(plain_line(previous)) >= 20
               and any(code.startswith(plain_line(previous)) and code != plain_line(previous) for code in code_lines)]
    assert not wrapped, (
        f"{len(wrapped)} code lines wrap on the page (the code font is too wide), such as {wrapped[0]!r}"
    )


def test_interactive_figures_print_as_a_still_with_a_pointer_to_the_web(text):
    body = squeezed(text)
    for sentence in ("In print, this figure is the grid at its starting slope and shift",
                     "In print, the animation is its middle frame",
                     "In print, this figure is the explorer at its starting"):
        assert sentence in body, f"missing: {sentence!r}"
    assert "SliderFigure(" not in body and "Animation (a still" not in body  # the still, not the object's name


def test_the_schematics_print_as_numbered_figures(text):
    body = squeezed(text).replace("Fig. ", "Fig.")
    for name, chapter in SCHEMATICS.items():
        notebook = nbformat.read(ROOT / "book" / f"{chapter}.ipynb", as_version=4)
        figures = [cell.metadata["mystnb"]["figure"] for cell in notebook.cells
                   if cell.get("metadata", {}).get("mystnb", {}).get("figure", {}).get("name") == name]
        assert len(figures) == 1, f"{chapter}: {len(figures)} figures named {name}"
        words = " ".join(plain(figures[0]["caption"]).split()[:8])
        assert re.search(r"Fig\.[\d.]+: " + re.escape(words), body), f"{name} is not printed as a numbered figure"
