"""The training chapters on other CPUs: chapters 6-10 under nbval with torch, MKL and oneDNN held to
another code path, as on a reader's machine with other vector units.

Every assertion must hold, and every output nbval compares (what is deterministic: data, the layer's
math, tables read from the committed records) must come out as committed. Cells whose numbers come
from training are tagged ``nbval-ignore-output``: they still run, and they check their runs against
the book's multi-seed records within a tolerance (:mod:`vmp.stats.agreement`), never one run's exact clip
count. ``make other-cpus`` runs this (part of ``make test``).

Each chapter runs on one of the two paths, so that the suite stays within its time budget: X3D's
chapter, the longest, on AVX2, and the paths' shares of the work about equal (the path without
vector units runs about twice as slowly). ``benchmarks/stochastic_margins.py`` measures every chapter
on every path and thread count; this is the regression check that runs on every change.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

from play_cpu import CPU_PATHS, cpu_environment, execute_as  # noqa: E402

TRAINING_CHAPTERS = ["06_training_loop", "07_slowfast", "08_x3d", "09_timesformer", "10_results_and_ablations"]
#: Which other code path executes each training chapter.
CHAPTERS_ON = {
    "avx2": ["06_training_loop", "08_x3d", "10_results_and_ablations"],
    "default": ["07_slowfast", "09_timesformer"],
}


@pytest.mark.parametrize("cpu", sorted(CPU_PATHS))
def test_the_kernel_really_takes_the_other_code_path(cpu, tmp_path):
    probe = tmp_path / "probe.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import torch\nprint(torch.backends.cpu.get_cpu_capability())")]), probe)
    execute_as(probe, cpu, tmp_path / "out")
    printed = nbformat.read(tmp_path / "out" / "probe.ipynb", as_version=4).cells[0].outputs[0]["text"].strip()
    assert printed == CPU_PATHS[cpu]["ATEN_CPU_CAPABILITY"].upper()


@pytest.mark.parametrize("cpu", sorted(CPU_PATHS))
def test_the_training_chapters_hold_on_another_cpu(cpu):
    chapters = [str(ROOT / "book" / f"{chapter}.ipynb") for chapter in CHAPTERS_ON[cpu]]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval", "--nbval-current-env",
         "--nbval-cell-timeout=1800", "--nbval-sanitize-with", str(ROOT / "book" / "sanitize.cfg"), *chapters],
        cwd=ROOT, env=cpu_environment(cpu), capture_output=True, text=True)
    assert result.returncode == 0, f"as a {cpu} CPU:\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}"


def test_every_training_chapter_runs_on_one_other_path():
    assert sorted(c for chapters in CHAPTERS_ON.values() for c in chapters) == TRAINING_CHAPTERS
    assert set(CHAPTERS_ON) == set(CPU_PATHS)
