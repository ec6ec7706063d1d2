"""How far every assertion on a trained or sampled value holds, on other code paths and threads.

    python benchmarks/stochastic_margins.py run --part standins --configs native:1 native:2 default:2
    python benchmarks/stochastic_margins.py run --part chapters --configs native:1 native:4
    python benchmarks/stochastic_margins.py run --part units --configs native:1 native:2 native:4
    python benchmarks/stochastic_margins.py record-executed --config native:2   # the chapters as committed
    python benchmarks/stochastic_margins.py table      # the Markdown table, from what has been run
    python benchmarks/stochastic_margins.py tolerances # what vmp.stats.agreement.TOLERANCES must at least be

A configuration is ``PATH:THREADS``: ``native`` is this machine's own code path, ``avx2`` and
``default`` (no vector units) are ``tools/play_cpu.py``'s; threads set ``OMP_NUM_THREADS`` and
``MKL_NUM_THREADS``. Each execution appends one JSON line to ``benchmarks/results/stochastic_margins.jsonl``
(what the chapters and tests computed, as values), so runs on several machines add up; a rerun
skips what is recorded for this machine. The table gives, for every assertion, its threshold, the
worst value over the runs and the margin (how far the worst value stays inside the threshold).

Parts: ``standins`` executes chapters 6-9 under their full profile on the stand-ins of
``tests/test_full_profile_chapters.py`` (every input above chance, p < 0.01); ``chapters`` executes
the book's training chapters 6-10 (each run against the recorded seeds, :mod:`vmp.stats.agreement`);
``fits`` executes chapters 2 and 4, whose checks read small optimisations of fixed data (how far
any printed number moves against the gaps their orderings need); ``units`` recomputes the unit
tests' trained values (the heavy-nuisance gate's gain, the probe's accuracy, the training test's
fall in cross-entropy).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tools"), str(ROOT / "tests"), str(ROOT / "benchmarks")]

from play_cpu import CPU_PATHS  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "stochastic_margins.jsonl"
STANDIN_CHAPTERS = ("06_training_loop", "07_slowfast", "08_x3d", "09_timesformer")
#: Chapters whose assertions read small optimisations of fixed data (no sampling): the slope's cusp
#: (2) and TAV's effect per λ (4). Their checks are orderings and ratios of the fitted numbers.
FIT_CHAPTERS = ("02_sigmoid_attention", "04_temporal_attention_variation")
BOOK_CHAPTERS = ("06_training_loop", "07_slowfast", "08_x3d", "09_timesformer", "10_results_and_ablations")


def machine() -> str:
    """The CPU model and its native code path: what ``native`` means in a record."""
    import torch

    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    return f"{model}, {torch.backends.cpu.get_cpu_capability()}"


def environment(config: str) -> dict[str, str]:
    """This process's environment with the code path and thread count of ``config`` (``PATH:THREADS``)."""
    path, threads = config.split(":")
    extra = {} if path == "native" else CPU_PATHS[path]
    return {**os.environ, "TQDM_DISABLE": "1", "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, **extra}


def execute(notebook: nbformat.NotebookNode, config: str) -> tuple[nbformat.NotebookNode, str | None, float]:
    """Run ``notebook`` (cwd ``book/``) under ``config``; return it, the first error (or None) and seconds."""
    client = NotebookClient(notebook, timeout=1800, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(ROOT / "book")}})
    start = time.perf_counter()
    client.execute(env=environment(config))
    errors = [f"cell {index}: {output['ename']}: {output['evalue'][:300]}"
              for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"
              for output in cell.get("outputs", []) if output.get("output_type") == "error"]
    return notebook, (errors[0] if errors else None), time.perf_counter() - start


def glued(notebook: nbformat.NotebookNode) -> dict[str, str]:
    """Every value the notebook glued, as its text."""
    values = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            text = [value for key, value in output.get("data", {}).items() if key.endswith("text/plain")]
            if name and text:  # glue(..., display=False) stores it under a papermill mime prefix
                values[name] = "".join(text).strip("'\"")
    return values


def printed(notebook: nbformat.NotebookNode) -> str:
    return "".join(output.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                   for output in cell.get("outputs", []))


def agreement_lines(text: str) -> dict[str, float]:
    """The values :func:`vmp.stats.agreement.check_against_records` printed (or raised with): ``name: your run X``."""
    found = {}
    line = r"^\s*(?:AssertionError: )?([\w ,']+): your run (-?[0-9.]+)(%?);"
    for name, value, percent in re.findall(line, text, re.M):
        found[name.strip().lower()] = float(value) / 100 if percent else float(value)
    return found


def guessing_scores(notebook: nbformat.NotebookNode) -> dict[str, float]:
    """A chapter's scores on its fresh draw for the check against guessing (``guess <input>``, a
    share) and the draw's size (``guess clips``), as glued; empty if it has none."""
    found = glued(notebook)
    scores = {f"guess {name[len('guess_top1_'):]}": float(text.rstrip("%")) / 100
              for name, text in found.items() if name.startswith("guess_top1_")}
    return {**scores, "guess clips": float(found["guess_clips"])} if scores else {}


def record(entry: dict) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a") as file:
        file.write(json.dumps(entry) + "\n")


def done() -> set[tuple[str, str, str, str]]:
    if not RESULTS.is_file():
        return set()
    records = map(json.loads, RESULTS.read_text().splitlines())
    return {(r["machine"], r["part"], r["unit"], r["config"]) for r in records}


def run_standins(config: str, folder: Path, only: list[str]) -> None:
    from stand_ins import full_profile_version

    for chapter in [c for c in STANDIN_CHAPTERS if not only or c in only]:
        if (machine(), "standins", chapter, config) in done():
            continue
        notebook, error, seconds = execute(full_profile_version(chapter, folder), config)
        values = {name: float(value) for name, value in glued(notebook).items() if name.startswith("p_")}
        record({"machine": machine(), "part": "standins", "unit": chapter, "config": config, "error": error,
                "seconds": round(seconds, 1), "values": values})
        print(f"standins {chapter} {config}: {values} {error or ''}", flush=True)


def run_chapters(config: str, only: list[str], again: bool = False) -> None:
    from cpu_spread import run_numbers

    for chapter in [c for c in BOOK_CHAPTERS if not only or c in only]:
        if (machine(), "chapters", chapter, config) in done() and not again:
            continue
        notebook, error, seconds = execute(nbformat.read(ROOT / "book" / f"{chapter}.ipynb", as_version=4), config)
        values = {**run_numbers(printed(notebook)), **agreement_lines(printed(notebook) + (error or "")),
                  **guessing_scores(notebook)}
        record({"machine": machine(), "part": "chapters", "unit": chapter, "config": config, "error": error,
                "seconds": round(seconds, 1), "values": values})
        print(f"chapters {chapter} {config}: {values} {error or ''}", flush=True)


def record_executed(config: str) -> None:
    """Record the training chapters as ``tools/execute_notebooks.py`` last executed them in ``book/``
    (under ``config``, this machine's own path and thread count), without running them again."""
    from cpu_spread import run_numbers

    for chapter in BOOK_CHAPTERS:
        if (machine(), "chapters", chapter, config) in done():
            continue
        notebook = nbformat.read(ROOT / "book" / f"{chapter}.ipynb", as_version=4)
        text = printed(notebook)
        record({"machine": machine(), "part": "chapters", "unit": chapter, "config": config, "error": None,
                "seconds": None, "values": {**run_numbers(text), **agreement_lines(text)}})


NUMBER = re.compile(r"-?\d+\.\d+")


def printed_numbers(notebook: nbformat.NotebookNode) -> list[list[float]]:
    """The decimal numbers each code cell printed, cell by cell."""
    return [[float(x) for x in NUMBER.findall("".join(o.get("text", "") for o in cell.get("outputs", [])))]
            for cell in notebook.cells if cell.cell_type == "code"]


def run_fits(config: str, only: list[str]) -> None:
    """Execute the fitting chapters under ``config``: did every assertion hold, and how far did any
    printed number move from the committed output (the orderings they assert need less than their gaps)?"""
    for chapter in [c for c in FIT_CHAPTERS if not only or c in only]:
        if (machine(), "fits", chapter, config) in done():
            continue
        path = ROOT / "book" / f"{chapter}.ipynb"
        committed = printed_numbers(nbformat.read(path, as_version=4))
        notebook, error, seconds = execute(nbformat.read(path, as_version=4), config)
        moves = [abs(a - b) / max(abs(b), 1e-12) for old, new in zip(committed, printed_numbers(notebook))
                 if len(old) == len(new) for a, b in zip(new, old)]
        values = {"largest_relative_move": max(moves, default=0.0)}
        record({"machine": machine(), "part": "fits", "unit": chapter, "config": config, "error": error,
                "seconds": round(seconds, 1), "values": values})
        print(f"fits {chapter} {config}: {values} {error or ''}", flush=True)


def smallest_ordering_gap() -> float:
    """Chapter 4's asserted orderings over λ (slope, shift, TAV, on and off sprite): the smallest
    relative gap between neighbouring λ in the committed table."""
    notebook = nbformat.read(ROOT / "book" / "04_temporal_attention_variation.ipynb", as_version=4)
    text = next("".join(o.get("text", "") for o in cell.outputs) for cell in notebook.cells
                if cell.cell_type == "code" and "def measure" in cell.source)
    rows = [[float(x) for x in line.split()] for line in text.splitlines()[1:] if line.strip()]
    columns = {"slope": 1, "shift": 2, "tav": 4, "on sprite": 5, "off sprite": 6}
    return min(abs(b[i] - a[i]) / abs(a[i]) for i in columns.values() for a, b in zip(rows, rows[1:]))


#: The unit tests' trained values, each computed in a child process under the configuration.
UNIT_SNIPPETS = {
    "heavy_nuisance_gate_gain": (
        "import sys, tempfile; sys.path[:0] = ['tests', 'benchmarks']\n"
        "import test_experiment as t\n"
        "from pathlib import Path\n"
        "print(t.gate_gain(Path(tempfile.mkdtemp())))\n"),
    "training_ce_ratio": (
        "import sys, tempfile; sys.path[:0] = ['tests', 'benchmarks']\n"
        "import test_train as t\n"
        "from pathlib import Path\n"
        "from vmp.data.synth import generate\n"
        "root = generate(Path(tempfile.mkdtemp()), t.SMALL)\n"
        "history = t.learning_history(root)\n"
        "print(history[-1]['train_ce'] / history[0]['train_ce'])\n"),
    "probe_accuracy": (
        "import sys; sys.path[:0] = ['tests', 'benchmarks']\n"
        "import test_probe as t\n"
        "print(t.separable_probe_accuracy())\n"),
}


#: Unit values that must stay below their threshold (the others must stay above).
BELOW = {"training_ce_ratio": 1.0}


def run_units(config: str, only: list[str]) -> None:
    for name, code in [(n, c) for n, c in UNIT_SNIPPETS.items() if not only or n in only]:
        if (machine(), "units", name, config) in done():
            continue
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment(config),
                                capture_output=True, text=True)
        error = None if result.returncode == 0 else result.stderr[-300:]
        value = float(result.stdout.split()[-1]) if result.returncode == 0 else None
        record({"machine": machine(), "part": "units", "unit": name, "config": config, "error": error,
                "seconds": round(time.perf_counter() - start, 1), "values": {"value": value}})
        print(f"units {name} {config}: {value} {error or ''}", flush=True)


def derived_tolerances() -> dict[str, dict[str, float]]:
    """What :data:`vmp.stats.agreement.TOLERANCES` must at least be, per backbone and quantity: twice the
    recorded seeds' standard deviation (pooled over the inputs for top-1) or twice the farthest any
    measured run landed outside its recorded seeds, whichever is larger."""
    import numpy as np
    from cpu_spread import CHAPTERS as BACKBONE_OF
    from cpu_spread import recorded

    runs = [json.loads(line) for line in RESULTS.read_text().splitlines()] if RESULTS.is_file() else []
    needed: dict[str, dict[str, float]] = {}
    for chapter, backbone in BACKBONE_OF.items():
        seeds = recorded(chapter)
        for kind in ("top1", "slope", "shift"):
            names = [n for n in seeds if (n == kind) or (kind == "top1" and n not in ("slope", "shift"))]
            sds = [np.std(seeds[n], ddof=1) for n in names if len(seeds[n]) > 1]
            floor = 2 * float(np.sqrt(np.mean(np.square(sds)))) if sds else 0.0
            outside = [max(0.0, min(seeds[n]) - run["values"][n], run["values"][n] - max(seeds[n]))
                       for run in runs if run["part"] == "chapters" and run["unit"] == chapter
                       for n in names if run["values"].get(n) is not None]
            value = max([floor, *(2 * o for o in outside)])
            needed.setdefault(backbone, {})[kind] = max(needed.get(backbone, {}).get(kind, 0.0), value)
    return needed


#: The training chapters' test clips and chance level (6 classes, 60 test clips in the book profile);
#: chapter 10's re-run is checked against its seeds only.
CHANCE_CHECKED = {"06_training_loop", "07_slowfast", "08_x3d", "09_timesformer"}
TEST_CLIPS, CHANCE = 60, 1 / 6


def chance_rows(runs: list[dict]) -> list[tuple[str, ...]]:
    """Each chapter input's single-run check against guessing (binomial p < 0.01): the worst run over
    the configurations, its margin in decades of p and in clips (how many fewer correct test clips
    would fail)."""
    from vmp.stats.agreement import CHANCE_LEVEL
    from vmp.stats.significance import chance_p_value, clips_needed

    found: dict[tuple[str, str, int], list[tuple[str, float]]] = {}
    for run in runs:
        if run["part"] == "chapters" and run["unit"] in CHANCE_CHECKED:
            values = run["values"]
            fresh = int(values.get("guess clips") or 0)  # scored on a fresh draw instead of the test clips
            for name, value in values.items():
                if value is None or "slope" in name or "shift" in name or name == "guess clips":
                    continue
                if fresh and name.startswith("guess "):
                    found.setdefault((run["unit"], name[len("guess "):], fresh), []).append((run["config"], value))
                elif not fresh and not name.startswith("guess "):
                    found.setdefault((run["unit"], name, TEST_CLIPS), []).append((run["config"], value))
    rows = []
    for (unit, name, clips_scored), values in sorted(found.items()):
        needed = clips_needed(clips_scored, CHANCE, CHANCE_LEVEL)
        worst = min(value for _, value in values)
        clips = round(worst * clips_scored)
        p_value = chance_p_value(clips / clips_scored, clips_scored, CHANCE)
        where = "test clips" if clips_scored == TEST_CLIPS else "fresh clips"
        rows.append((f"ch. {unit[:2]}, this run against guessing", name,
                     f"p < {CHANCE_LEVEL} ({needed} of {clips_scored} {where})", f"{clips} clips, p = {p_value:.0e}",
                     f"{clips - needed + 1} clips ({math.log10(CHANCE_LEVEL / max(p_value, 1e-300)):.1f} decades)",
                     ", ".join(sorted({config for config, _ in values}))))
    return rows


def table() -> str:
    """Every measured assertion: threshold, worst value over the runs, margin, and the runs it covers."""
    from cpu_spread import CHAPTERS as BACKBONE_OF
    from cpu_spread import recorded

    from vmp.stats.agreement import CHANCE_LEVEL, TOLERANCES

    runs = [json.loads(line) for line in RESULTS.read_text().splitlines()]
    latest = {(run["machine"], run["part"], run["unit"], run["config"]): index for index, run in enumerate(runs)}
    superseded = [run for index, run in enumerate(runs)
                  if latest[run["machine"], run["part"], run["unit"], run["config"]] != index]
    runs = [run for index, run in enumerate(runs) if latest[run["machine"], run["part"], run["unit"], run["config"]]
            == index]
    failed = [run for run in runs if run["error"]]
    rows = []
    groups: dict[tuple[str, str, str], list[tuple[str, float]]] = {}
    for run in runs:
        for name, value in run["values"].items():
            if value is not None:
                groups.setdefault((run["part"], run["unit"], name), []).append((f"{run['config']}", value))
    for (part, unit, name), values in sorted(groups.items()):
        configs = ", ".join(sorted({config for config, _ in values}))
        if part == "fits":
            worst = max(value for _, value in values)
            gap = smallest_ordering_gap() if unit.startswith("04") else None
            threshold = (f"orderings over λ: smallest relative gap {gap:.1e}" if gap is not None
                         else "the slope's move from its start; the cusp's derivatives")
            if worst == 0:
                margin = "no printed digit moved; every assertion held"
            else:
                margin = f"gap {gap / worst:.0e}× the move" if gap is not None else "every assertion held"
            rows.append((f"ch. {unit[:2]}, a fit of fixed data", "largest relative move of a printed number",
                         threshold, f"{worst:.1e}", margin, configs))
            continue
        if part == "standins":
            worst = max(value for _, value in values)
            margin = math.log10(CHANCE_LEVEL) - math.log10(max(worst, 1e-300))
            rows.append((f"ch. {unit[:2]}, full profile on stand-ins", f"{name[2:]} above chance",
                         f"p < {CHANCE_LEVEL}", f"p = {worst:.1e}", f"{margin:.1f} decades", configs))
        elif part == "chapters":
            seeds = recorded(unit).get(name)
            if not seeds:
                continue
            kind = name if name in ("slope", "shift") else "top1"
            tolerance = getattr(TOLERANCES[BACKBONE_OF[unit]], kind)
            low, high = min(seeds) - tolerance, max(seeds) + tolerance
            worst = min(values, key=lambda item: min(item[1] - low, high - item[1]))[1]
            margin = min(worst - low, high - worst)
            outside = max(max(0.0, min(seeds) - value, value - max(seeds)) for _, value in values)
            rows.append((f"ch. {unit[:2]}, this run against the recorded seeds", name,
                         f"{low:.3g} to {high:.3g} (seeds {min(seeds):.3g} to {max(seeds):.3g} ± {tolerance:g})",
                         f"{worst:.3g} ({outside:.3g} outside the seeds)", f"{margin:.3g}", configs))
        else:
            if unit in BELOW:  # a value that must stay under its threshold
                threshold, worst = BELOW[unit], max(value for _, value in values)
                rows.append((f"unit test: {unit}", "", f"< {threshold}", f"{worst:.3g}", f"{threshold - worst:.3g}",
                             configs))
                continue
            threshold = {"heavy_nuisance_gate_gain": 0.04, "probe_accuracy": 0.97}[unit]
            worst = min(value for _, value in values)
            rows.append((f"unit test: {unit}", "", f"> {threshold}", f"{worst:.3g}", f"{worst - threshold:.3g}",
                         configs))
    rows += chance_rows(runs)
    quiet: dict[str, set[str]] = {}  # stand-in chapters that assert nothing on a trained value
    for run in runs:
        if run["part"] == "standins" and not run["values"] and not run["error"]:
            quiet.setdefault(run["unit"], set()).add(run["config"])
    for unit, configs in sorted(quiet.items()):
        rows.append((f"ch. {unit[:2]}, full profile on stand-ins", "no assertion on a trained value",
                     "runs to its end", "ran to its end", "", ", ".join(sorted(configs))))
    lines = ["| where | value | threshold | worst value | margin | configurations |", "|---|---|---|---|---|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    machines = sorted({run["machine"] for run in runs})
    def today(run: dict) -> str:
        """Whether a failed chapter run's recorded values sit inside the bands in force now."""
        if run["part"] != "chapters":
            return ""
        seeds = recorded(run["unit"])
        outside = [name for name, value in run["values"].items() if value is not None and seeds.get(name)
                   and not (min(seeds[name]) - band(run["unit"], name) <= value
                            <= max(seeds[name]) + band(run["unit"], name))]
        return f"; today's bands: {'outside for ' + ', '.join(outside) if outside else 'every recorded value inside'}"

    def band(unit: str, name: str) -> float:
        return getattr(TOLERANCES[BACKBONE_OF[unit]], name if name in ("slope", "shift") else "top1")

    failures = "\n".join(f"- {run['part']} {run['unit']} {run['config']}: {run['error']}{today(run)}"
                         for run in failed) or "none"
    replaced = "\n".join(f"- {run['part']} {run['unit']} {run['config']}" + (f" (it stopped at {run['error']})"
                                                                           if run["error"] else "")
                         for run in superseded) or "none"
    return ("\n".join(lines) + "\n\nmachines: " + "; ".join(machines) + "\n\n"
            + "Runs that stopped at an error (the latest of each configuration):\n" + failures + "\n\n"
            + "Earlier runs replaced by a later run of the same configuration after the chapter changed:\n"
            + replaced + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run")
    run.add_argument("--part", choices=("standins", "chapters", "units", "fits"), required=True)
    run.add_argument("--configs", nargs="+", default=["native:1", "native:2", "native:4", "default:2"])
    run.add_argument("--only", nargs="*", default=[], help="these chapters or unit values only")
    run.add_argument("--again", action="store_true",
                     help="chapters: run and record again where a run is recorded (after a chapter changed)")
    commands.add_parser("table")
    commands.add_parser("tolerances")
    executed = commands.add_parser("record-executed")
    executed.add_argument("--config", default="native:2")
    args = parser.parse_args()
    if args.command == "record-executed":
        record_executed(args.config)
        return
    if args.command == "tolerances":
        for backbone, kinds in derived_tolerances().items():
            print(backbone, {kind: round(value, 4) for kind, value in kinds.items()})
        return
    if args.command == "table":
        text = table()
        (RESULTS.with_suffix(".md")).write_text(text)
        print(text)
        return
    folder = None
    if args.part == "standins":
        from stand_ins import write_stand_ins

        folder = write_stand_ins(Path(tempfile.mkdtemp(prefix="vmp-stand-ins-")))
    for config in args.configs:
        if args.part == "standins":
            run_standins(config, folder, args.only)
        elif args.part == "fits":
            run_fits(config, args.only)
        elif args.part == "chapters":
            run_chapters(config, args.only, args.again)
        else:
            run_units(config, args.only)


if __name__ == "__main__":
    main()
