"""Execute book chapters as another CPU would: torch, MKL and oneDNN held to an older code path.

Run: ``python tools/play_cpu.py --cpu avx2 --out DIR book/06_*.ipynb ...``. Each chapter runs top to
bottom in a fresh kernel whose environment selects the code path (``CPU_PATHS``), and is written,
executed, to ``DIR``; the chapters in ``book/`` are left as they are. A failing cell stops the run
with its error, unless ``--allow-errors`` (to measure how far results move). Float sums are then
added in another order and training lands a clip or two elsewhere, as on a reader's machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

#: Environment variables that make this machine compute as a CPU with fewer vector units would.
CPU_PATHS = {
    "default": {"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE", "ONEDNN_MAX_CPU_ISA": "SSE41"},
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2"},
}


def cpu_environment(cpu: str) -> dict[str, str]:
    """This process's environment with ``CPU_PATHS[cpu]`` on top (and progress bars off), for a child."""
    return {**os.environ, "TQDM_DISABLE": "1", **CPU_PATHS[cpu]}


def execute_as(path: Path, cpu: str, out: Path, allow_errors: bool = False, timeout: int = 1800) -> float:
    """Execute ``path`` in a kernel started under ``CPU_PATHS[cpu]``, write it to ``out``; return seconds."""
    environment = cpu_environment(cpu)
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3", allow_errors=allow_errors,
                            resources={"metadata": {"path": str(path.resolve().parent)}})
    start = time.perf_counter()
    try:
        client.execute(env=environment)  # the kernel's environment; this process keeps its own
    finally:
        out.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, out / path.name)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu", choices=sorted(CPU_PATHS), required=True)
    parser.add_argument("--out", type=Path, required=True, help="folder for the executed copies")
    parser.add_argument("--allow-errors", action="store_true")
    parser.add_argument("chapters", nargs="+", type=Path)
    args = parser.parse_args()
    for path in args.chapters:
        seconds = execute_as(path, args.cpu, args.out, args.allow_errors)
        print(f"{path.name} as {args.cpu}: {seconds:.0f} s", flush=True)


if __name__ == "__main__":
    sys.exit(main())
