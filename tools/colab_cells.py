"""Write every chapter's first code cell, the one that sets a Colab session up, from _config.yml.

Run: ``python tools/colab_cells.py`` (``--check`` only reports chapters whose cell differs; the tests
run it that way). The repository's address (``repository.url``) and the version everything opens
(``repository.branch``: a tag, ``v`` and the package's version) live in ``_config.yml`` and nowhere
else: the launch buttons open the student notebooks at that tag, and the cell clones the same tag.
The cell is tagged ``remove-cell``: the published page leaves it out, the notebook keeps it.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parent.parent
MARK = "# In Colab:"
HIDDEN_TAG = "remove-cell"

TEMPLATE = '''# In Colab: fetch the book at version {tag} and install its package (with the models
# and book extras) unless vmp {version} is installed already; Colab's own torch is kept.
# Elsewhere this cell does nothing. A failed clone or install stops here with its error.
import importlib
import os
import subprocess
import sys
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as installed_version

if "google.colab" in sys.modules:
    repository, tag = "{url}", "{tag}"
    folder = "/content/vmp-book"
    try:
        ready = installed_version("vmp") == "{version}"
    except PackageNotFoundError:
        ready = False
    if not ready:
        if not os.path.isdir(folder):
            clone = ["git", "clone", "--quiet", "--depth", "1", "--branch", tag]
            subprocess.run([*clone, repository, folder], check=True)
        pip_install = [sys.executable, "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip_install, f"{{folder}}[models,book]"], check=True)
        importlib.invalidate_caches()
    os.chdir(f"{{folder}}/book")'''


def package_version(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """The package's version as ``pyproject.toml`` states it."""
    match = re.search(r'^version = "([^"]+)"', pyproject.read_text(), re.MULTILINE)
    if match is None:
        raise ValueError(f"{pyproject}: no version line")
    return match.group(1)


def read_config(config_path: Path = ROOT / "_config.yml") -> dict[str, str]:
    """The repository's address and the tag the book opens, from ``_config.yml``."""
    repository = yaml.safe_load(config_path.read_text())["repository"]
    return {"url": str(repository["url"]), "tag": str(repository.get("branch", ""))}


def setup_cell_source(config_path: Path = ROOT / "_config.yml", version: str | None = None) -> str:
    """The first code cell every chapter carries, from the repository URL and tag in ``_config.yml``.

    The tag must be ``v`` followed by the package's version: what the cell clones is what it installs.
    """
    url, tag = read_config(config_path).values()
    version = version or package_version()
    if not url.startswith("https://"):
        raise ValueError(f"{config_path}: repository.url must be an https address, not {url!r}")
    if tag != f"v{version}":
        raise ValueError(f"{config_path}: repository.branch is {tag!r}, but the package is version {version}: "
                         f"set it to 'v{version}' (the tag Colab opens and clones)")
    return TEMPLATE.format(url=url, tag=tag, version=version)


def chapters() -> list[Path]:
    return sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))


def notebooks() -> list[Path]:
    """Every chapter, and every assignment's source notebook (students open those in Colab too)."""
    return chapters() + sorted((ROOT / "course" / "source").glob("*/*.ipynb"))


def setup_cell_index(notebook) -> int | None:
    """The index of a chapter's Colab cell (the first code cell starting with ``MARK``, after the
    ``# @title`` line a student notebook gives it), if any."""
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            source = cell.source.split("\n", 1)[-1] if cell.source.startswith("# @title") else cell.source
            return index if source.startswith(MARK) else None
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report differing chapters and exit 1, write nothing")
    args = parser.parse_args()
    expected = setup_cell_source()
    differing = []
    for path in notebooks():
        notebook = nbformat.read(path, as_version=4)
        index = setup_cell_index(notebook)
        if index is None:
            continue  # a chapter without code (the preface)
        cell = notebook.cells[index]
        tags = cell.metadata.get("tags", [])
        if cell.source != expected or HIDDEN_TAG not in tags:
            differing.append(path.name)
            if not args.check:
                cell.source = expected
                cell.metadata["tags"] = [HIDDEN_TAG] + [tag for tag in tags if tag != HIDDEN_TAG]
                nbformat.write(notebook, path)
    if args.check and differing:
        sys.exit(f"chapters whose Colab cell differs from _config.yml: {differing} (run python tools/colab_cells.py)")
    print(f"{len(differing)} chapter(s) {'differ' if args.check else 'rewritten'}")


if __name__ == "__main__":
    main()
