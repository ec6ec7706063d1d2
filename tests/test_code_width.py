"""No shown code line in the book is wider than a PDF page's code cell (88 characters)."""

from __future__ import annotations

from code_width import LIMIT, book_notebooks, latex_code_line, shown_code_lines


def test_no_shown_code_line_is_over_88_characters():
    long = [f"{path.name} cell {index}: {len(line)} characters: {line.strip()[:60]}..."
            for path in book_notebooks() for index, line in shown_code_lines(path) if len(line) > LIMIT]
    assert not long, f"{len(long)} shown code lines over {LIMIT} characters:\n" + "\n".join(long)


def test_pygments_latex_lines_read_back_as_the_code():
    """The PDF test reads code lines back from the LaTeX source: Pygments' markup must come off exactly."""
    from pygments import highlight
    from pygments.formatters import LatexFormatter
    from pygments.lexers import PythonLexer

    code = ('label = f"{name}: {value[0]:.1%} \\\\ {{x}} ~ ^ & # $ % - \' _ @ [1] `q`"  # λ < 2 > 1\n'
            "print({'a': (1, 2)}, end='!;?=/:,')")
    latex = highlight(code, PythonLexer(), LatexFormatter(commandprefix="PYG"))
    lines = latex.split("\n")[1:-2]  # inside \begin{Verbatim}...\end{Verbatim}
    assert [latex_code_line(line) for line in lines] == code.splitlines()
