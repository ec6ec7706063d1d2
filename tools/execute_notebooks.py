"""Execute book chapters in place, top to bottom in one fresh kernel each.

Run: ``python tools/execute_notebooks.py [book/03_*.ipynb ...]`` (default: every chapter).
Prints a Markdown table of execution times for the README and records them, with the machine,
in ``benchmarks/results/chapter_times.json`` (the instructor page reads it). Commit the notebooks
it writes. Time the whole book on an otherwise idle machine: other jobs inflate the figures.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

os.environ.setdefault("TQDM_DISABLE", "1")  # progress bars would make outputs differ run to run

BOOK = Path(__file__).resolve().parent.parent / "book"
TIMES = BOOK.parent / "benchmarks" / "results" / "chapter_times.json"


def execute(path: Path) -> float:
    """Execute one notebook in place and return the seconds it took."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=1800,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=False,  # the book's interactive figures are static HTML (vmp.book.viz.slider_figure)
    )
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    notebook.metadata.pop("widgets", None)  # state left by an older execution would pull CDN scripts
    nbformat.write(notebook, path)
    return seconds


def main(paths: list[str]) -> None:
    notebooks = [Path(p) for p in paths] or sorted(BOOK.glob("[0-9][0-9]_*.ipynb"))
    rows = []
    for path in notebooks:
        seconds = execute(path)
        rows.append((path.name, seconds))
        print(f"{path.name}: {seconds:.0f} s", flush=True)
    print("\n| chapter | execution time |\n|---|---|")
    for name, seconds in rows:
        print(f"| `{name}` | {seconds:.0f} s |")
    print(f"| total | {sum(s for _, s in rows):.0f} s |")
    record = json.loads(TIMES.read_text()) if TIMES.is_file() else {"chapters": {}}
    record["chapters"].update({name: round(seconds, 1) for name, seconds in rows})
    record["machine"] = (
        f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}, Python {platform.python_version()}"
    )
    TIMES.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
