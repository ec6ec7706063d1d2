"""Write every chapter's first code cell, the one that sets a Colab session up, from _config.yml.

Run: ``python tools/colab_cells.py`` (``--check`` only reports chapters whose cell differs; the tests
run it that way). The repository's address (``repository.url``) and the version chapters clone
(``colab.version``, a tag or commit) live in ``_config.yml`` and nowhere else.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parent.parent
MARK = "# In Colab:"

TEMPLATE = '''# In Colab: fetch the book at version {version} and install its package with the models and book
# extras. Colab's own torch and ipywidgets are kept (the package asks only for lower bounds).
# Outside Colab this cell does nothing. A failed clone or install stops here with its error.
import os
import subprocess
import sys

if "google.colab" in sys.modules:
    repository, version = "{url}", "{version}"
    folder = "/content/vmp-book"
    if not os.path.isdir(folder):
        clone = ["git", "clone", "--quiet", "--depth", "1", "--branch", version, repository, folder]
        subprocess.run(clone, check=True)
    install = [sys.executable, "-m", "pip", "install", "--quiet", f"{{folder}}[models,book]"]
    subprocess.run(install, check=True)
    os.chdir(f"{{folder}}/book")'''


def setup_cell_source(config_path: Path = ROOT / "_config.yml") -> str:
    """The first code cell every chapter carries, from the repository URL and version in ``_config.yml``."""
    config = yaml.safe_load(config_path.read_text())
    url, version = config["repository"]["url"], str(config["colab"]["version"])
    if not url.startswith("https://") or not version:
        raise ValueError(f"{config_path}: repository.url must be an https address and colab.version a tag or commit")
    return TEMPLATE.format(url=url, version=version)


def chapters() -> list[Path]:
    return sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))


def setup_cell_index(notebook) -> int | None:
    """The index of a chapter's Colab cell (the first code cell starting with ``MARK``), if any."""
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            return index if cell.source.startswith(MARK) else None
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report differing chapters and exit 1, write nothing")
    args = parser.parse_args()
    expected = setup_cell_source()
    differing = []
    for path in chapters():
        notebook = nbformat.read(path, as_version=4)
        index = setup_cell_index(notebook)
        if index is None:
            continue  # a chapter without code (the preface)
        if notebook.cells[index].source != expected:
            differing.append(path.name)
            if not args.check:
                notebook.cells[index].source = expected
                nbformat.write(notebook, path)
    if args.check and differing:
        sys.exit(f"chapters whose Colab cell differs from _config.yml: {differing} (run python tools/colab_cells.py)")
    print(f"{len(differing)} chapter(s) {'differ' if args.check else 'rewritten'}")


if __name__ == "__main__":
    main()
