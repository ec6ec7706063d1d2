"""The book's shown code lines and the widest a page takes (88 characters), for the width tests.

Every code cell's source counts as shown except those tagged ``remove-cell`` or ``remove-input``:
a ``hide-input`` cell is behind a toggle on the web page and printed in the PDF.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
#: The longest code line the book shows, in characters: what a PDF page's code cell holds.
LIMIT = 88
HIDDEN_TAGS = {"remove-cell", "remove-input"}


def shown_code_lines(notebook_path: Path) -> list[tuple[int, str]]:
    """(cell index, line) for every line of every shown code cell of a notebook."""
    notebook = nbformat.read(notebook_path, as_version=4)
    return [(index, line) for index, cell in enumerate(notebook.cells)
            if cell.cell_type == "code" and not HIDDEN_TAGS & set(cell.metadata.get("tags", []))
            for line in cell.source.splitlines()]


def book_notebooks() -> list[Path]:
    return sorted((ROOT / "book").glob("*.ipynb"))


# Pygments' LaTeX escapes (with Sphinx's command prefix PYG) and the characters they stand for.
_ESCAPES = {"bs": "\\", "ob": "{", "cb": "}", "ca": "^", "us": "_", "am": "&", "lt": "<", "gt": ">", "sh": "#",
            "pc": "%", "dl": "$", "hy": "-", "sq": "'", "dq": '"', "ti": "~", "at": "@", "lb": "[", "rb": "]",
            "bq": "`", "sl": "/", "co": ",", "cl": ":", "sc": ";", "ex": "!", "qu": "?", "eq": "="}


def latex_code_line(line: str) -> str:
    """The text a line of a Sphinx ``sphinxVerbatim`` block prints: Pygments' markup taken off."""
    text = re.sub(r"\\PYGZ([a-z]{2})\{\}", lambda m: "\0" + m.group(1), line)
    while True:
        stripped = re.sub(r"\\PYG\{[^{}]*\}\{([^{}]*)\}", r"\1", text)
        if stripped == text:
            break
        text = stripped
    return re.sub("\0([a-z]{2})", lambda m: _ESCAPES[m.group(1)], text)


def latex_code_cells(tex: str) -> list[list[str]]:
    """The printed lines of each code cell's input in a Jupyter Book LaTeX document."""
    cells = []
    for block in re.findall(r"\\begin\{sphinxuseclass\}\{cell_input\}(.*?)\\end\{sphinxuseclass\}", tex, re.S):
        for verbatim in re.findall(r"\\begin\{sphinxVerbatim\}\[[^\n]*\n(.*?)\\end\{sphinxVerbatim\}", block, re.S):
            cells.append([latex_code_line(line) for line in verbatim.splitlines()])
    return cells
