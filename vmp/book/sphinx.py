"""The book's Sphinx extension (``vmp.book.sphinx`` in ``_config.yml``): what the published editions
need from the package at build time.

- The playground page's constants (:mod:`vmp.book.playground`), written on every build.
- The concept questions in print: each chapter's questions are HTML ``<details>`` elements, whose
  ``<summary>`` (the question) the LaTeX writer would drop as raw HTML; in the PDF each question is
  printed as a bold paragraph above its answer, its inline code and math typeset.
"""

from __future__ import annotations

import re
from pathlib import Path

from docutils import nodes

SUMMARY = re.compile(r"<summary>(.*?)</summary>", re.S)


def _write_constants(app, config) -> None:  # noqa: ANN001 - Sphinx's signature
    """``_static/playground/constants.js`` from this package, beside the playground page's script."""
    from vmp.book.playground import constants_script

    generated = Path(app.outdir).parent / "playground_constants"
    (generated / "playground").mkdir(parents=True, exist_ok=True)
    records = Path(app.srcdir) / "benchmarks" / "results" / "finetune.json"
    (generated / "playground" / "constants.js").write_text(constants_script(records if records.is_file() else None))
    config.html_static_path.append(str(generated))


def inline(text: str) -> list[nodes.Node]:
    """Plain text with <code>code</code> and $math$ spans as docutils nodes."""
    parts = []
    for piece in re.split(r"(<code>.*?</code>|\$[^$]+\$)", text):
        if piece.startswith("<code>") and piece.endswith("</code>"):
            parts.append(nodes.literal(piece[6:-7], piece[6:-7]))
        elif piece.startswith("$") and piece.endswith("$") and len(piece) > 1:
            parts.append(nodes.math(piece[1:-1], piece[1:-1]))
        elif piece:
            parts.append(nodes.Text(piece))
    return parts


def _questions_in_print(app, doctree, docname) -> None:  # noqa: ANN001
    """For LaTeX: each raw ``<summary>`` becomes a bold paragraph; the rest of the raw HTML goes."""
    if app.builder.format != "latex":
        return
    for raw in list(doctree.findall(nodes.raw)):
        if "html" not in raw.get("format", ""):
            continue
        questions = SUMMARY.findall(raw.astext())
        if questions:
            raw.replace_self([nodes.paragraph("", "", nodes.strong("", "", *inline(" ".join(q.split()))))
                              for q in questions])


def setup(app) -> dict:  # noqa: ANN001
    app.connect("config-inited", _write_constants)
    app.connect("doctree-resolved", _questions_in_print)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
