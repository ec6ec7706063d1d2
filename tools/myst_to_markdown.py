"""The book's MyST Markdown written out as plain CommonMark, for the notebooks that Colab opens.

Colab renders a notebook's Markdown as CommonMark with ``$math$``; MyST's roles and directives would
show there as typed. Each one becomes what the HTML edition shows: ``{glue:text}`` roles the value
glued in the page's committed outputs (formatted as MyST-NB formats it), citations "(Author, year)"
linked to the references, admonitions block quotes with a bold title (dropdowns fold, as ``<details>``),
labelled equations and ``{eq}`` references their numbers as Sphinx numbers them, ``{only}`` blocks
resolved for the web. A role or directive this module does not know raises :class:`MystError`, so
none reaches a student unrendered: extend the tables below instead.

``Book.load(root)`` reads what rendering needs (the table of contents, the pages' glued outputs,
equations, figures and targets, ``references.bib``); ``Book.render(source, page)`` renders one cell.
"""

from __future__ import annotations

import base64
import html
import re
from ast import literal_eval
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import yaml


class MystError(ValueError):
    """MyST that this module cannot render (an unknown role or directive, a reference to nothing)."""


# --- reading MyST: blocks (fences, targets, comments, text) and inline tokens --------------------------

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,}|:{3,})(?P<info>.*)$")
DIRECTIVE = re.compile(r"^\{(?P<name>[^}\s]+)\}\s*(?P<argument>.*)$")
TARGET = re.compile(r"^[ \t]*\((?P<label>[^()\s]+)\)=[ \t]*$")
OPTION = re.compile(r"^:(?P<name>[\w-]+):(?:[ \t]+(?P<value>.*))?$")
HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(?P<title>.+?)[ \t#]*$")
# a role, a code span (left alone) or display math with its optional label, whichever starts first
INLINE = re.compile(
    r"(?P<role>\{(?P<name>[A-Za-z][\w:.+-]*)\}(?P<tick>`+)(?P<content>.+?)(?P=tick))"
    r"|(?P<code>(?P<code_tick>`+).+?(?P=code_tick))"
    r"|(?P<math>\$\$(?P<tex>.+?)\$\$(?:[ \t]*\((?P<label>[^()\s]+)\))?)",
    re.S,
)
EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.S)  # `text <target>` in a role


@dataclass
class Block:
    """One top-level piece of a Markdown cell."""

    kind: str  # "text", "code" (a plain fence, copied), "directive", "target" or "comment"
    text: str = ""  # the text or code as written (kind "text" and "code"), the label (kind "target")
    name: str = ""  # the directive's name
    argument: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    body: str = ""  # the directive's content, its options removed and its indentation undone
    indent: str = ""


def blocks(source: str) -> Iterator[Block]:
    """The cell's blocks in order: fenced directives and code, ``(label)=`` targets, MyST comments, text."""
    lines = source.split("\n")
    text: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        fence = FENCE.match(line)
        if fence and not (fence["fence"][0] == "`" and "`" in fence["info"]):
            if text:
                yield Block("text", "\n".join(text))
                text = []
            char, width = fence["fence"][0], len(fence["fence"])
            closing = re.compile(rf"^[ \t]*{re.escape(char)}{{{width},}}[ \t]*$")
            end = next((i for i in range(index + 1, len(lines)) if closing.match(lines[i])), len(lines))
            indent = fence["indent"]
            inner = [item[len(indent):] if item.startswith(indent) else item.lstrip() for item in lines[index + 1:end]]
            directive = DIRECTIVE.match(fence["info"].strip())
            if directive:
                options, body = _options(inner)
                yield Block("directive", name=directive["name"], argument=directive["argument"].strip(),
                            options=options, body=body, indent=indent)
            elif char == ":":
                raise MystError(f"a ':::' fence without a directive: {line!r}")
            else:
                yield Block("code", "\n".join(lines[index:end + 1]))
            index = end + 1
            continue
        target = TARGET.match(line)
        if target or line.startswith("%") or line.strip() == "+++":
            if text:
                yield Block("text", "\n".join(text))
                text = []
            yield Block("target", target["label"]) if target else Block("comment", line)
            index += 1
            continue
        text.append(line)
        index += 1
    if text:
        yield Block("text", "\n".join(text))


def _options(lines: list[str]) -> tuple[dict[str, Any], str]:
    """A directive's options (``:name: value`` lines or a ``---`` YAML block) and the content after them."""
    options: dict[str, Any] = {}
    start = 0
    if lines and lines[0].strip() == "---":
        end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
        if end is None:
            raise MystError("a directive's '---' option block is not closed")
        options = yaml.safe_load("\n".join(lines[1:end])) or {}
        start = end + 1
    else:
        while start < len(lines) and (option := OPTION.match(lines[start])):
            options[option["name"]] = (option["value"] or "").strip()
            start += 1
    return options, "\n".join(lines[start:]).strip("\n")


def split_explicit(content: str) -> tuple[str | None, str]:
    """``text <target>`` as (text, target); a bare ``target`` as (None, target)."""
    match = EXPLICIT.match(content.strip())
    return (match["text"], match["target"].strip()) if match else (None, content.strip())


# --- what the pages hold: glued values, equation and figure numbers, targets --------------------------

def glued_outputs(notebook: nbformat.NotebookNode) -> dict[str, dict[str, Any]]:
    """Every ``glue``d value of a notebook's committed outputs, as MyST-NB reads them (mime bundle by key)."""
    glued: dict[str, dict[str, Any]] = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            scrapbook = output.get("metadata", {}).get("scrapbook")
            if scrapbook:
                prefix = len(scrapbook.get("mime_prefix", ""))
                glued[scrapbook["name"]] = {key[prefix:]: value for key, value in output.get("data", {}).items()}
    return glued


def format_plain_text(text: str, fmt_spec: str) -> str:
    """A glued ``text/plain`` value formatted as MyST-NB's ``{glue:text}`` role formats it.

    The same steps as ``myst_nb.core.variables.format_plain_text``: the repr is evaluated (a glued
    string loses its quotes), then formatted with the spec, read as an int or a float by its type letter.
    """
    try:
        value = literal_eval(text)
    except (SyntaxError, ValueError):
        value = text
    if fmt_spec == "":
        return str(value)
    type_char = fmt_spec[-1]
    if type_char == "s":
        value = str(value)
    elif type_char in "bcdoxX":
        value = int(value)
    elif type_char in "eEfFgGn%":
        value = float(value)
    return format(value, fmt_spec)


@dataclass
class Page:
    """What one page of the book contributes to rendering, read from its notebook or Markdown file."""

    name: str  # the file's name, "02_sigmoid_attention.ipynb"
    number: int | None  # its chapter number in the table of contents (None: not numbered)
    title: str = ""
    glue: dict[str, dict[str, Any]] = field(default_factory=dict)
    equations: dict[str, str] = field(default_factory=dict)  # label: number as the HTML shows it, "2.1"
    figures: dict[str, tuple[str, str]] = field(default_factory=dict)  # name: (number, caption)
    sections: dict[str, str] = field(default_factory=dict)  # (label)= target: the heading it names

    def numbered(self, count: int) -> str:
        return f"{self.number}.{count}" if self.number is not None else str(count)

    def read(self, cells: list[dict[str, Any]]) -> None:
        """Number the page's labelled equations and captioned figures, and find its targets.

        ``cells`` are the notebook cells the HTML page shows, solutions included: Sphinx numbers what
        the page holds, folded or not. A code cell's figure (``mystnb.figure``) is keyed by
        :func:`cell_figure_key`.
        """
        equations = figures = 0
        pending: str | None = None  # a (label)= target waiting for the block it names

        def figure(name: str | None, caption: str) -> None:
            nonlocal figures
            if caption:
                figures += 1
            if name:
                self.figures[name] = (self.numbered(figures) if caption else "", caption)

        def walk(source: str) -> None:
            nonlocal equations, pending
            for block in blocks(source):
                if block.kind == "target":
                    pending = block.text
                    continue
                label, pending = pending, None
                if block.kind == "text":
                    for match in INLINE.finditer(block.text):
                        if match["math"] and match["label"]:
                            equations += 1
                            self.equations[match["label"]] = self.numbered(equations)
                    first = next((line for line in block.text.split("\n") if line.strip()), "")
                    heading = HEADING.match(first)
                    if heading and label:
                        self.sections[label] = heading["title"]
                    if heading and not self.title and first.lstrip().startswith("# "):
                        self.title = heading["title"]
                elif block.kind == "directive":
                    if block.name in ("math", "glue:math") and block.options.get("label"):
                        equations += 1
                        self.equations[block.options["label"]] = self.numbered(equations)
                    elif block.name in ("figure", "glue:figure"):
                        figure(block.options.get("name") or label, block.body)
                    elif block.name == "only":
                        if web_only(block.argument):
                            walk(block.body)
                    elif block.name in ADMONITIONS or block.name in QUOTES or block.name in FOLDS:
                        walk(block.body)

        for cell in cells:
            if cell["cell_type"] == "markdown":
                walk(cell["source"])
            elif cell["cell_type"] == "code":
                caption = cell.get("metadata", {}).get("mystnb", {}).get("figure", {})
                # MyST-NB puts each displayed output of the cell in a figure of its own
                shown = [output for output in cell.get("outputs", [])
                         if output.get("output_type") in ("display_data", "execute_result")
                         and not output.get("metadata", {}).get("scrapbook", {}).get("mime_prefix")]
                if caption.get("caption") and shown:
                    figure(caption.get("name"), caption["caption"])
                    self.figures[cell_figure_key(cell)] = (self.numbered(figures), str(caption["caption"]))
                    for _ in shown[1:]:
                        figure(None, caption["caption"])
            pending = None


def cell_figure_key(cell: dict[str, Any]) -> str:
    """The key of a code cell's figure in :attr:`Page.figures` (its id, or its caption without one)."""
    return "cell:" + (cell.get("id") or str(cell["metadata"]["mystnb"]["figure"]["caption"]))


def chapter_numbers(toc: dict[str, Any]) -> dict[str, int]:
    """Each numbered chapter's number by file stem, counted across parts as Jupyter Book counts them."""
    parts = toc.get("parts") or [{"chapters": toc.get("chapters", []), "numbered": toc.get("numbered", False)}]
    numbers: dict[str, int] = {}
    for part in parts:
        for chapter in part.get("chapters", []):
            if part.get("numbered"):
                numbers[Path(chapter["file"]).name] = len(numbers) + 1
    return numbers


# --- the bibliography ----------------------------------------------------------------------------------

@dataclass
class Citation:
    key: str
    authors: str  # as sphinxcontrib-bibtex's author_year style writes them: "Chen et al.", "Horn and Schunck"
    year: str
    entry: str = ""  # the full reference as Markdown


def read_bibliography(path: Path) -> dict[str, Citation]:
    """Every entry of a BibTeX file, labelled as the HTML edition's author-year citations label them."""
    from pybtex.database import parse_file
    from pybtex.plugin import find_plugin
    from pybtex.richtext import Text

    database = parse_file(str(path))
    style = find_plugin("pybtex.style.formatting", "alpha")()  # sphinxcontrib-bibtex's default style
    # backends made once: render_as() looks its backend up among every installed entry point each call
    markdown, plain = find_plugin("pybtex.backends", "markdown")(), find_plugin("pybtex.backends", "text")()
    formatted = {entry.key: entry.text.render(markdown) for entry in style.format_entries(database.entries.values())}
    citations = {}
    for key, entry in database.entries.items():
        persons = entry.persons.get("author") or entry.persons.get("editor") or []
        names = [Text.from_latex(" ".join(p.prelast_names + p.last_names)).render(plain) for p in persons]
        if len(names) > 2:
            authors = f"{names[0]} et al."
        else:
            authors = " and ".join(names) or key
        year = Text.from_latex(entry.fields.get("year", "n.d.")).render(plain)
        citations[key] = Citation(key, authors, year, formatted.get(key, "").replace("\n", " "))
    return citations


# --- rendering ------------------------------------------------------------------------------------------

ADMONITIONS = {  # directive: its default title ("" = the title is the directive's argument)
    "admonition": "", "note": "Note", "tip": "Tip", "hint": "Hint", "important": "Important",
    "warning": "Warning", "caution": "Caution", "attention": "Attention", "danger": "Danger",
    "error": "Error", "seealso": "See also", "topic": "", "sidebar": "", "margin": "",
}
QUOTES = {"epigraph", "pull-quote", "highlights"}  # block quotes without a title
FOLDS = {"dropdown", "toggle"}  # folded on the web page: folded here too
WEB_TAGS = {"html", "format_html", "builder_html", "dirhtml"}  # what {only} sees when the web pages build
MIME_PRIORITY = ("text/html", "image/svg+xml", "image/png", "image/jpeg", "text/markdown", "text/latex", "text/plain")
CITE_ROLES = {"cite", "cite:p", "cite:ps", "cite:t", "cite:ts", "cite:alp", "cite:author", "cite:authors",
              "cite:year", "cite:years"}
SIMPLE_ROLES = {  # role: how its content is written
    "sub": "<sub>{}</sub>", "sup": "<sup>{}</sup>", "kbd": "<kbd>{}</kbd>", "code": "`{}`", "samp": "`{}`",
    "file": "`{}`", "command": "**{}**", "guilabel": "**{}**", "menuselection": "**{}**", "term": "{}",
    "dfn": "*{}*", "program": "**{}**", "envvar": "`{}`",
}


def web_only(expression: str) -> bool:
    """Whether an ``{only}`` block's expression holds for the HTML edition (``html``: yes, ``latex``: no)."""
    if not re.fullmatch(r"[\w\s()-]+", expression):
        raise MystError(f"an {{only}} expression this module cannot read: {expression!r}")
    python = re.sub(r"[A-Za-z_][\w-]*",
                    lambda m: m.group() if m.group() in ("and", "or", "not") else str(m.group() in WEB_TAGS),
                    expression)
    return bool(eval(python, {"__builtins__": {}}, {}))  # nothing but True, False, and, or, not, ()


def escape(text: str) -> str:
    """Plain text that CommonMark shows as typed (a glued value is text in the HTML, never Markdown)."""
    return re.sub(r"([\\`*_<>|$])", r"\\\1", text)


def quote(title: str, body: str) -> str:
    """A block quote opening with a bold title: an admonition as plain Markdown."""
    lines = ([f"**{title}**"] if title else []) + ([""] if title and body else []) + (body.split("\n") if body else [])
    return "\n".join(f"> {line}".rstrip() for line in lines)


def fold(title: str, body: str) -> str:
    """A folded block, as the book's concept questions fold: ``<details>`` with a plain ``<summary>``."""
    summary = html.escape(re.sub(r"[*`]", "", title) or "Show")
    return f"<details>\n<summary>{summary}</summary>\n\n{body}\n\n</details>"


def data_uri(mime: str, data: str | bytes) -> str:
    """An image written into the Markdown (Colab shows ``data:`` images; it does not show attachments)."""
    if mime == "image/svg+xml":
        data = base64.b64encode(data.encode() if isinstance(data, str) else data).decode()
    elif isinstance(data, bytes):
        data = base64.b64encode(data).decode()
    return f"data:{mime};base64,{''.join(str(data).split())}"


class Book:
    """Every page of the book, its bibliography and where links point, for rendering one cell at a time."""

    def __init__(self, pages: dict[str, Page], citations: dict[str, Citation], references: str,
                 student_pages: set[str] | None = None, baseurl: str = "", folder: Path | None = None) -> None:
        self.pages = pages
        self.citations = citations
        self.references = references  # where a citation links
        self.student_pages = student_pages if student_pages is not None else set(pages)
        self.baseurl = baseurl.rstrip("/")
        self.folder = folder  # where the pages' images are
        self.counts: Counter[str] = Counter()  # what was rendered, by kind ("role:cite", "directive:only", ...)

    @classmethod
    def load(cls, root: Path, student_pages: set[str], references: str) -> Book:
        """The book under ``root``: ``_toc.yml``, ``_config.yml``, ``references.bib`` and every page in ``book/``."""
        toc = yaml.safe_load((root / "_toc.yml").read_text())
        config = yaml.safe_load((root / "_config.yml").read_text())
        numbers = chapter_numbers(toc)
        pages = {}
        for path in sorted((root / "book").glob("*.ipynb")) + sorted((root / "book").glob("*.md")):
            if path.name.startswith((".", "_")) or path.stem.lower() == "readme":
                continue
            if path.suffix == ".ipynb":
                notebook = nbformat.read(path, as_version=4)
                pages[path.name] = page_of(path.name, notebook, numbers.get(path.stem))
            else:
                page = Page(path.name, numbers.get(path.stem))
                text = re.sub(r"\A---\n.*?\n---\n", "", path.read_text(), flags=re.S)  # front matter
                page.read([{"cell_type": "markdown", "source": text, "metadata": {}}])
                pages[path.name] = page
        baseurl = str((config.get("html") or {}).get("baseurl") or "")
        if baseurl:
            references = f"{baseurl.rstrip('/')}/book/references.html"
        bibliography = [root / name for name in config.get("bibtex_bibfiles", [])]
        citations = {key: value for path in bibliography for key, value in read_bibliography(path).items()}
        return cls(pages, citations, references, student_pages, baseurl, root / "book")

    # links

    def link(self, name: str, anchor: str = "") -> str:
        """Where a link to page ``name`` points from a student notebook: the notebook beside it, or the web page."""
        if name in self.student_pages:
            return name + anchor
        if self.baseurl:
            return f"{self.baseurl}/book/{Path(name).stem}.html{anchor}"
        return name + anchor

    def page_named(self, target: str, page: Page) -> Page:
        """The page a ``{doc}`` target or a glue ``path::key`` names, relative to ``page``."""
        stem = Path(target.lstrip("/")).name
        for name, candidate in self.pages.items():
            if Path(name).stem == Path(stem).stem:
                return candidate
        raise MystError(f"{page.name}: no page {target!r}")

    # rendering

    def render(self, source: str, page: str | Page) -> str:
        """One Markdown cell of ``page`` as CommonMark."""
        page = page if isinstance(page, Page) else self.pages[page]
        parts: list[tuple[bool, str]] = []  # (a rendered directive, its text)
        for block in blocks(source):
            if block.kind == "text":
                parts.append((False, self.inline(block.text, page)))
            elif block.kind == "code":
                parts.append((False, block.text))
            elif block.kind in ("target", "comment"):
                self.counts[block.kind] += 1
            else:
                self.counts[f"directive:{block.name}"] += 1
                rendered = self.directive(block, page)
                if rendered:
                    indented = (block.indent + line if line else line for line in rendered.split("\n"))
                    parts.append((True, "\n".join(indented)))
        lines: list[str] = []
        for index, (directive, text) in enumerate(parts):
            if directive and lines and lines[-1].strip():
                lines.append("")  # a block quote or <details> must not run into the paragraph before
            lines += text.split("\n")
            following = parts[index + 1][1] if index + 1 < len(parts) else ""
            if directive and following.split("\n")[0].strip():
                lines.append("")  # nor the paragraph after it into the quote (a lazy continuation)
        return "\n".join(lines).strip("\n")

    def inline(self, text: str, page: Page) -> str:
        """Roles and labelled display math in a run of text; code spans are left as they are."""

        def replace(match: re.Match[str]) -> str:
            if match["code"]:
                return match["code"]
            if match["math"]:
                if not match["label"]:
                    return match["math"]
                self.counts["equation label"] += 1
                return f"$${match['tex'].rstrip()} \\tag{{{self.equation(match['label'], page)[0]}}} $$"
            self.counts[f"role:{match['name']}"] += 1
            return self.role(match["name"], match["content"], page)

        rendered = INLINE.sub(replace, text)
        if self.baseurl:  # plain links to pages that only the web edition has go to the published page
            def published(link: re.Match[str]) -> str:
                name, anchor = link[1], link[2] or ""
                return f"]({self.link(name, anchor) if name in self.pages else name + anchor})"

            rendered = re.sub(r"\]\(([\w.-]+\.(?:md|ipynb))(#[^)\s]*)?\)", published, rendered)
        return rendered

    def equation(self, label: str, page: Page) -> tuple[str, Page]:
        """A labelled equation's number and the page it is on (its own page first)."""
        for candidate in [page, *self.pages.values()]:
            if label in candidate.equations:
                return candidate.equations[label], candidate
        raise MystError(f"{page.name}: no equation labelled {label!r}")

    def role(self, name: str, content: str, page: Page) -> str:
        """One inline role as Markdown."""
        if name == "glue:text":
            return escape(self.glue_text(content, page))
        if name in ("glue", "glue:", "glue:any", "glue:md"):
            return self.glue_any(content, page, inline=True, markdown=name == "glue:md")
        if name in CITE_ROLES:
            return self.cite(name, content, page)
        if name == "eq":
            text, label = split_explicit(content)
            number, where = self.equation(label, page)
            shown = text or f"({number})"
            return shown if where is page else f"[{shown}]({self.link(where.name)})"
        if name == "math":
            return f"${content}$"
        if name == "ref":
            text, label = split_explicit(content)
            title, where = self.target(label, page)
            shown = text or title
            return shown if where is page else f"[{shown}]({self.link(where.name)})"
        if name == "numref":
            text, label = split_explicit(content)
            for where in [page, *self.pages.values()]:
                if label in where.figures and where.figures[label][0]:
                    number, caption = where.figures[label]
                    shown = (text or "Fig. {number}").replace("%s", number).replace("{number}", number)
                    shown = shown.replace("{name}", caption)
                    return shown if where is page else f"[{shown}]({self.link(where.name)})"
            raise MystError(f"{page.name}: {{numref}} to {label!r}, which is no numbered figure "
                            "(use {eq} for equations)")
        if name == "doc":
            text, target = split_explicit(content)
            where = self.page_named(target, page)
            return f"[{text or where.title or where.name}]({self.link(where.name)})"
        if name == "download":
            text, target = split_explicit(content)
            return f"[{text or target}]({target})"
        if name == "abbr":
            match = re.fullmatch(r"(?P<short>.*?)\s*\((?P<long>.*)\)", content.strip(), re.S)
            if not match:
                return content
            return f'<abbr title="{html.escape(match["long"])}">{match["short"]}</abbr>'
        if name in SIMPLE_ROLES:
            return SIMPLE_ROLES[name].format(content)
        raise MystError(f"{page.name}: the role {{{name}}} is not rendered by {__name__} (add it there)")

    def target(self, label: str, page: Page) -> tuple[str, Page]:
        """A ``{ref}`` target's title (a section's heading, a figure's caption) and its page."""
        for where in [page, *self.pages.values()]:
            if label in where.sections:
                return where.sections[label], where
            if label in where.figures:
                return where.figures[label][1], where
        raise MystError(f"{page.name}: no target {label!r} for {{ref}}")

    def glue_data(self, key: str, page: Page) -> dict[str, Any]:
        """The mime bundle glued as ``key`` (``path::key`` reads another page), from committed outputs."""
        where = page
        if "::" in key:
            path, key = key.split("::", 1)
            where = self.page_named(path, page)
        if key not in where.glue:
            raise MystError(f"{page.name}: nothing glued as {key!r} in {where.name}'s outputs")
        return where.glue[key]

    def glue_text(self, content: str, page: Page) -> str:
        """``{glue:text}`key:spec``` as MyST-NB writes it: the ``text/plain`` value, formatted."""
        parts = content.rsplit(":", 1)
        key, spec = (parts[0], parts[1]) if len(parts) == 2 else (parts[0], "s")
        data = self.glue_data(key, page)
        if "text/plain" not in data:
            raise MystError(f"{page.name}: no text/plain glued as {key!r}")
        return format_plain_text(data["text/plain"], spec)

    def glue_any(self, key: str, page: Page, inline: bool, markdown: bool = False, alt: str = "") -> str:
        """A glued value in the form the HTML shows first: HTML, an image, Markdown, LaTeX, else its text."""
        data = self.glue_data(key.strip(), page)
        if markdown:
            if "text/markdown" not in data:
                raise MystError(f"{page.name}: no text/markdown glued as {key!r}")
            return str(data["text/markdown"])
        mime = next((m for m in MIME_PRIORITY if m in data), None)
        if mime is None:
            raise MystError(f"{page.name}: nothing renderable glued as {key!r}")
        value = data[mime]
        value = "".join(value) if isinstance(value, list) else value
        if mime.startswith("image/"):
            return f"![{alt or key}]({data_uri(mime, value)})"
        if mime == "text/plain":
            return escape(str(value)) if inline else f"```\n{value}\n```"
        return str(value)

    def cite(self, role: str, content: str, page: Page) -> str:
        """A citation as the author-year style writes it, with parentheses: "(Chen et al., 2024)"."""
        if "{" in content:
            raise MystError(f"{page.name}: citation pre- or post-text is not rendered: {content!r}")
        missing = [key.strip() for key in content.split(",") if key.strip() not in self.citations]
        if missing:
            raise MystError(f"{page.name}: {missing} not in the bibliography")
        cited = sorted((self.citations[key.strip()] for key in content.split(",")),
                       key=lambda c: (c.authors.lower(), c.year))
        link = self.references

        def linked(text: str, citation: Citation) -> str:
            anchor = f"#{citation.key}" if not link.startswith(("http://", "https://")) else ""
            return f"[{text}]({link}{anchor})"

        variant = role.split(":", 1)[1] if ":" in role else "p"
        if variant in ("p", "ps"):
            return "(" + "; ".join(linked(f"{c.authors}, {c.year}", c) for c in cited) + ")"
        if variant == "alp":
            return "; ".join(linked(f"{c.authors}, {c.year}", c) for c in cited)
        if variant in ("t", "ts"):
            return ", ".join(f"{linked(c.authors, c)} ({c.year})" for c in cited)
        if variant in ("author", "authors"):
            return ", ".join(linked(c.authors, c) for c in cited)
        return ", ".join(linked(c.year, c) for c in cited)

    def directive(self, block: Block, page: Page) -> str:
        """One directive as Markdown ("" where the web page shows nothing)."""
        name, options = block.name, block.options
        classes = str(options.get("class", "")).split()
        if name in ADMONITIONS:
            title = self.inline(block.argument, page) if not ADMONITIONS[name] else ADMONITIONS[name]
            body = block.body if not ADMONITIONS[name] or not block.argument else f"{block.argument}\n{block.body}"
            if name == "admonition" and not title:
                raise MystError(f"{page.name}: an {{admonition}} without a title")
            body = self.render(body, page)
            return fold(title, body) if "dropdown" in classes else quote(title, body)
        if name in QUOTES:
            return quote("", self.render(block.body, page))
        if name in FOLDS:
            return fold(self.inline(block.argument, page), self.render(block.body, page))
        if name == "only":
            return self.render(block.body, page) if web_only(block.argument) else ""
        if name == "math":
            tex = block.body.strip()
            label = options.get("label")
            tag = f" \\tag{{{self.equation(label, page)[0]}}}" if label else ""
            return f"$$\n{tex}{tag}\n$$"
        if name in ("figure", "image"):
            return self.figure(block, page)
        if name in ("glue", "glue:", "glue:any"):
            return self.glue_any(block.argument, page, inline=False)
        if name == "glue:md":
            return self.glue_any(block.argument, page, inline=False, markdown=True)
        if name == "glue:math":
            tex = str(self.glue_data(block.argument, page).get("text/latex", "")).strip().strip("$")
            label = options.get("label")
            tag = f" \\tag{{{self.equation(label, page)[0]}}}" if label else ""
            return f"$$\n{tex}{tag}\n$$"
        if name == "glue:figure":
            return self.figure(block, page, glued=True)
        if name in ("code-block", "code", "sourcecode"):
            return f"```{block.argument}\n{block.body}\n```"
        if name == "raw":
            return block.body if block.argument.strip() == "html" else ""
        if name == "bibliography":
            return f"See the [references]({self.references})."
        raise MystError(f"{page.name}: the directive {{{name}}} is not rendered by {__name__} (add it there)")

    def figure(self, block: Block, page: Page, glued: bool = False) -> str:
        """A figure: its image written in (or, if it cannot be, nothing) and its numbered caption."""
        alt = str(block.options.get("alt", "")) or re.sub(r"[*`$]", "", block.body.split("\n")[0])[:80]
        if glued:
            data = self.glue_data(block.argument, page)
            mime = next((m for m in ("image/png", "image/jpeg", "image/svg+xml") if m in data), None)
            image = f"![{alt}]({data_uri(mime, data[mime])})" if mime else ""
        elif re.match(r"^[a-z]+://", block.argument):
            image = f"![{alt}]({block.argument})"
        else:
            path = (self.folder or Path(".")) / block.argument
            suffix = path.suffix.lower().lstrip(".")
            mime = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "svg": "image/svg+xml",
                    "gif": "image/gif"}.get(suffix)
            image = f"![{alt}]({data_uri(mime, path.read_bytes())})" if mime and path.is_file() else ""
        if block.name == "image" or not block.body:
            return image
        name = block.options.get("name")
        number = page.figures.get(name, ("", ""))[0] if name else ""
        caption = self.render(block.body, page)
        label = f"**Fig. {number}** " if number else ""
        return f"{image}\n\n{label}{caption}" if image else f"{label}{caption}"

    def caption(self, cell: dict[str, Any], page: str | Page) -> str:
        """A code cell's figure caption (``mystnb.figure``), numbered as the HTML numbers it, or ""."""
        page = page if isinstance(page, Page) else self.pages[page]
        figure = cell.get("metadata", {}).get("mystnb", {}).get("figure", {})
        if not figure.get("caption"):
            return ""
        number = page.figures.get(cell_figure_key(cell), ("", ""))[0]
        self.counts["figure caption"] += 1
        return f"**Fig. {number}** {self.inline(str(figure['caption']), page)}"

    def references_notebook(self) -> nbformat.NotebookNode:
        """The bibliography as a notebook, each entry under an anchor named by its key (where citations link)."""
        entries = sorted(self.citations.values(), key=lambda c: (c.authors.lower(), c.year, c.key))
        lines = ["# References", ""]
        for citation in entries:
            lines += [f'<a id="{citation.key}"></a>**{citation.authors}, {citation.year}.** {citation.entry}', ""]
        cell = nbformat.v4.new_markdown_cell("\n".join(lines).strip())
        cell.id = "references"  # fixed, so that the written notebook changes only when the entries do
        return nbformat.v4.new_notebook(cells=[cell])


def page_of(name: str, notebook: nbformat.NotebookNode, number: int | None) -> Page:
    """A notebook's page: its glued values, and its equations, figures and targets as the HTML numbers them."""
    page = Page(name, number, glue=glued_outputs(notebook))
    shown = [cell for cell in notebook.cells if "remove-cell" not in cell.metadata.get("tags", [])]
    page.read(shown)
    return page
