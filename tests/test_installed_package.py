"""The package as Colab installs it: copied into site-packages (not editable), the book's weights with it.

Both tests work on a fresh clone of the committed repository, as a reader gets it: one loads every
book checkpoint through an installed copy, the other rehearses a Colab session from the set-up cell
to chapter 6's exercises, with ``google.colab`` simulated and the repository served from the disk.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))

import colab_cells

pytestmark = pytest.mark.slow  # a pip install and a Colab rehearsal of chapter 6: minutes (make unit)

ROOT = Path(__file__).resolve().parent.parent


def run(command: list[str], **options) -> subprocess.CompletedProcess:
    """Run ``command``, failing the test with its output when it fails."""
    result = subprocess.run(command, capture_output=True, text=True, **options)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """A fresh clone of the committed repository, tagged with the version the Colab cell installs."""
    folder = tmp_path_factory.mktemp("repository") / "vmp-book"
    run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(folder)])
    run(["git", "-C", str(folder), "tag", f"v{colab_cells.package_version()}"])
    return folder


def test_an_installed_copy_loads_every_book_checkpoint(clone, tmp_path):
    site = tmp_path / "site-packages"
    run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--target",
         str(site), str(clone)])
    assert not (site / "vmp" / "__editable__").exists() and (site / "vmp" / "checkpoints" / "manifest.json").is_file()
    script = textwrap.dedent(f"""
        import json, vmp
        from vmp.models import build_model
        from vmp.weights import CHECKPOINTS, read_manifest
        assert vmp.__file__.startswith({str(site)!r}), vmp.__file__
        loaded = []
        for name in sorted(read_manifest()):
            model = build_model(name, 6, 8, 64, weights="book")
            loaded.append(name)
        print(json.dumps({{"checkpoints": str(CHECKPOINTS), "loaded": loaded}}))
    """)
    environment = {**os.environ, "PYTHONPATH": str(site)}
    environment.pop("VMP_CHECKPOINTS", None)
    result = run([sys.executable, "-c", script], cwd=clone / "book", env=environment)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["checkpoints"].startswith(str(site))
    assert report["loaded"] == ["slowfast_r50", "timesformer", "tiny3d", "x3d_xs"]


def colab_like_environment(folder: Path) -> Path:
    """A new virtual environment that sees this one's packages, as Colab brings its own, but no vmp."""
    run([sys.executable, "-m", "venv", str(folder)])
    python = folder / "bin" / "python"
    own = Path(sysconfig.get_paths()["purelib"])
    preinstalled = folder / "preinstalled"
    preinstalled.mkdir()
    for entry in own.iterdir():
        if entry.name.startswith(("vmp", "__editable__", "_vmp")) or entry.suffix == ".pth":
            continue
        (preinstalled / entry.name).symlink_to(entry)
    target = Path(run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    (target / "preinstalled.pth").write_text(f"{preinstalled}\n")
    fake = folder / "fake_colab" / "google" / "colab"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        '"""Stands in for Colab\'s own module: the set-up cell only asks whether it is imported."""\n'
    )
    return python


REHEARSAL = r'''
import sys
import nbformat
from nbclient import NotebookClient

notebook = nbformat.read(sys.argv[1], as_version=4)
notebook.cells.insert(0, nbformat.v4.new_code_cell("import google.colab"))
notebook.cells.append(nbformat.v4.new_code_cell(
    "import os, vmp, vmp.weights\nprint('vmp from', vmp.__file__, vmp.weights.CHECKPOINTS, os.getcwd())"))
NotebookClient(notebook, timeout=1200, kernel_name="python3", resources={"metadata": {"path": sys.argv[2]}}).execute()
nbformat.write(notebook, sys.argv[3])
'''


def test_a_colab_session_installs_the_tagged_book_and_runs_chapter_6(clone, tmp_path):
    python = colab_like_environment(tmp_path / "colab")
    student = nbformat.read(clone / "student" / "book" / "06_training_loop.ipynb", as_version=4)
    exercises = next(i for i, cell in enumerate(student.cells) if cell.source.startswith("## Exercises"))
    setup = colab_cells.setup_cell_index(student)
    cell = student.cells[setup]
    content = tmp_path / "content"
    for old, new in (
        (colab_cells.read_config()["url"], f"file://{clone}"),
        ("/content/vmp-book", f"{content}/vmp-book"),
    ):
        assert old in cell.source, old
        cell.source = cell.source.replace(old, new)
    student.cells = student.cells[:exercises]
    notebook = tmp_path / "chapter6.ipynb"
    nbformat.write(student, notebook)
    work = tmp_path / "elsewhere"
    work.mkdir()
    environment = {key: value for key, value in os.environ.items() if key not in ("VMP_CHECKPOINTS", "VIRTUAL_ENV")}
    environment["PYTHONPATH"] = str(tmp_path / "colab" / "fake_colab")
    executed = tmp_path / "executed.ipynb"
    run([str(python), "-c", REHEARSAL, str(notebook), str(work), str(executed)], env=environment, timeout=1500)
    assert (content / "vmp-book" / ".git").is_dir()
    tag = run(["git", "-C", str(content / "vmp-book"), "describe", "--tags"]).stdout.strip()
    assert tag == f"v{colab_cells.package_version()}"
    outputs = nbformat.read(executed, as_version=4)
    text = "".join(o.get("text", "") for c in outputs.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "test top-1" in text and "Error" not in text
    where = text.split("vmp from ")[-1].split()
    site = str(tmp_path / "colab")
    assert where[0].startswith(site) and "site-packages" in where[0], where  # the installed copy, not a checkout
    assert where[1].startswith(site) and where[1].endswith("checkpoints"), where  # its own weights
    assert where[2] == str(content / "vmp-book" / "book"), where
    # a second run of the cell installs nothing: that version is importable now
    again = run([str(python), "-c", "import google.colab, os\n" + cell.source + "\nprint(ready, os.getcwd())"],
                env=environment, cwd=work)
    assert again.stdout.split() == ["True", str(content / "vmp-book" / "book")]
