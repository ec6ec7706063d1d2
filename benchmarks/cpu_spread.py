"""How far one training run moves between CPUs: chapters 6-10 on this machine's own code path and
as two other CPUs would run them, against the spread of the book's recorded seeds.

    python benchmarks/cpu_spread.py                       # executes chapters 6-10 twice (about 20 min)
    python benchmarks/cpu_spread.py --executed avx2=DIR default=DIR   # read copies made by tools/play_cpu.py

The committed chapters are the native run (executed by ``tools/execute_notebooks.py``). For every
run a chapter prints (test top-1 per input, the layer's final slope and shift) it reports the
three values, the largest move between code paths, the range of the recorded seeds of the same
configuration and how far outside that range a run landed. ``vmp.stats.agreement``'s tolerances rest on
these figures; they go to ``benchmarks/results/cpu_spread.json``.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
import tempfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

from play_cpu import CPU_PATHS, execute_as  # noqa: E402

from vmp.book.report import from_start  # noqa: E402
from vmp.checkpoint import read_records  # noqa: E402
from vmp.prompt import DEFAULT_START  # noqa: E402
from vmp.regimes import matches, regime_fields  # noqa: E402

CHAPTERS = {"06_training_loop": "tiny3d", "07_slowfast": "slowfast_r50", "08_x3d": "x3d_xs",
            "09_timesformer": "timesformer", "10_results_and_ablations": "tiny3d"}
RESULTS = ROOT / "benchmarks" / "results"


def printed(path: Path) -> str:
    """Everything a notebook's code cells printed."""
    notebook = nbformat.read(path, as_version=4)
    return "".join(output.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                   for output in cell.get("outputs", []))


def run_numbers(text: str) -> dict[str, float]:
    """Test top-1 per input and the VMP layer's final slope and shift, as the chapters print them."""
    numbers = {}
    for match in re.finditer(r"^(frames|difference|vmp|VMP, paper's init|VMP)\s+test top-1 ([0-9.]+)", text, re.M):
        numbers[match.group(1).lower()] = float(match.group(2))
    if match := re.search(r"ours \(λ = 0\): slope [0-9.]+ -> ([0-9.]+), shift \S+ -> (\S+)", text):
        numbers.update(slope=float(match.group(1)), shift=float(match.group(2)))
    if match := re.search(r"slope, start -> end: (\{.*\})", text):
        numbers["slope"] = ast.literal_eval(match.group(1))["VMP"][1]
        numbers["shift"] = ast.literal_eval(re.search(r"shift, start -> end: (\{.*\})", text).group(1))["VMP"][1]
    if match := re.search(
        r"test top-1: your run ([0-9.]+)%.*\nslope: your run ([0-9.]+).*\nshift: your run (\S+);", text
    ):
        numbers.update(vmp=float(match.group(1)) / 100, slope=float(match.group(2)), shift=float(match.group(3)))
    return numbers


def recorded(chapter: str) -> dict[str, list[float]]:
    """The recorded seeds each chapter compares with: finetune.json (7-9), ablations.jsonl (6), regimes.jsonl (10)."""
    backbone = CHAPTERS[chapter]
    if chapter in ("07_slowfast", "08_x3d", "09_timesformer"):
        final = json.loads((RESULTS / "finetune.json").read_text())[backbone]["final"]
        values = {input: [run["test_top1"] for run in runs] for input, runs in final.items()}
        values.update(
            slope=[run["slope"][-1] for run in final["vmp"]], shift=[run["shift"][-1] for run in final["vmp"]]
        )
        return values
    if chapter == "10_results_and_ablations":  # seed 0 of the regimes study's tiny3d, vmp, base regime, re-run
        study = read_records(RESULTS / "regimes.jsonl")
        lines = [r for r in study if r["backbone"] == backbone and matches(r, regime_fields("base", "vmp"))]
        return {"vmp": [r["test_top1"] for r in lines], "slope": [r["final"][0] for r in lines],
                "shift": [r["final"][1] for r in lines]}
    records = from_start(read_records(RESULTS / "ablations.jsonl"), DEFAULT_START)
    configs = {"frames": "frames", "difference": "rgb_difference", "vmp": "vmp", "vmp, paper's init": "vmp_paper_init"}
    mine = [r for r in records if r["backbone"] == backbone]
    values = {name: [r["test_top1"] for r in mine if r["config"] == config] for name, config in configs.items()}
    values.update(slope=[r["learned"]["slope"] for r in mine if r["config"] == "vmp"],
                  shift=[r["learned"]["shift"] for r in mine if r["config"] == "vmp"])
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executed", nargs="*", default=[], help="CPU=DIR: chapters already executed as that CPU")
    args = parser.parse_args()
    folders = dict(item.split("=", 1) for item in args.executed)
    for cpu in sorted(set(CPU_PATHS) - set(folders)):
        folders[cpu] = tempfile.mkdtemp(prefix=f"vmp-{cpu}-")
        for chapter in CHAPTERS:
            execute_as(ROOT / "book" / f"{chapter}.ipynb", cpu, Path(folders[cpu]))
    rows, report = [], {}
    for chapter in CHAPTERS:
        runs = {"native": run_numbers(printed(ROOT / "book" / f"{chapter}.ipynb"))}
        runs.update({cpu: run_numbers(printed(Path(folders[cpu]) / f"{chapter}.ipynb")) for cpu in sorted(CPU_PATHS)})
        seeds = recorded(chapter)
        for name in runs["native"]:
            values = [runs[cpu][name] for cpu in runs]
            move = max(values) - min(values)
            outside = max(max(0.0, min(seeds[name]) - v, v - max(seeds[name])) for v in values)
            report.setdefault(chapter, {})[name] = {"runs": {cpu: runs[cpu][name] for cpu in runs}, "move": move,
                                                     "seeds": seeds[name], "outside_seeds": outside}
            rows.append((chapter, name, values, move, seeds[name], outside))
    print("| chapter | run | native, avx2, default | largest move | recorded seeds | outside their range |")
    print("|---|---|---|---|---|---|")
    for chapter, name, values, move, seeds, outside in rows:
        print(f"| {chapter[:2]} | {name} | {', '.join(f'{v:.3g}' for v in values)} | {move:.3g} | "
              f"{min(seeds):.3g} to {max(seeds):.3g} ({len(seeds)}) | {outside:.3g} |")
    for kind in ("top-1", "slope", "shift"):
        picked = [r for r in rows if (r[1] == kind) or (kind == "top-1" and r[1] not in ("slope", "shift"))]
        print(f"largest {kind} move between code paths: {max(r[3] for r in picked):.3g}; "
              f"largest distance outside the recorded seeds: {max(r[5] for r in picked):.3g}")
    (RESULTS / "cpu_spread.json").write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
