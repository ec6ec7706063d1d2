"""The course plan as one table, from ``book/syllabus.yml``: the preface and the instructor page
both display it, so they cannot disagree.

Each week lists its chapters, what is taught and what is handed in, with two costs per chapter: a
student's study time, estimated from the chapter itself (its prose at a reading speed, its code
cells, its exercises; the rates are in the file), and the CPU time the chapter took to execute
(``benchmarks/results/chapter_times.json``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

#: An exercise starts a Markdown cell: "**1. ...**" in chapters 1-11, "## 1. ..." in chapter 12.
EXERCISE = re.compile(r"^(\*\*|## )\d+\. ")


def study_minutes(notebook: str | Path, words_per_minute: float, minutes_per_code_cell: float,
                  minutes_per_exercise: float) -> float:
    """A student's time for one chapter: reading its prose, running its code, doing its exercises.

    Solutions, the Colab set-up cell and fenced code in the prose are left out.
    """
    cells = json.loads(Path(notebook).read_text())["cells"]
    words = code = exercises = 0
    for cell in cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if "solution" in tags or "remove-cell" in tags:
            continue
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            words += len(re.sub(r"```.*?```", "", source, flags=re.S).split())
            exercises += bool(EXERCISE.match(source))
        elif cell["cell_type"] == "code":
            code += 1
    return words / words_per_minute + code * minutes_per_code_cell + exercises * minutes_per_exercise


def chapter_files(book: Path) -> dict[int, Path]:
    """The book's chapters by number: ``book/NN_name.ipynb``."""
    return {int(path.name[:2]): path for path in sorted(book.glob("[0-9][0-9]_*.ipynb"))}


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def syllabus_table(book: str | Path = ".", times: str | Path | None = None) -> str:
    """The syllabus of ``book/syllabus.yml`` as a Markdown table: one row per chapter, with a
    student's study time (reading and exercises) and the chapter's CPU time."""
    import yaml

    book = Path(book)
    plan = yaml.safe_load((book / "syllabus.yml").read_text())
    chapters = chapter_files(book)
    times_file = (
        Path(times) if times is not None else book.resolve().parent / "benchmarks" / "results" / "chapter_times.json"
    )
    cpu = json.loads(times_file.read_text())["chapters"] if times_file.is_file() else {}
    rows = ["| week | chapter | study time | CPU time | in class | to hand in |", "|---|---|---|---|---|---|"]
    for week in plan["weeks"]:
        missing = [number for number in week["chapters"] if number not in chapters]
        if missing:
            raise ValueError(
                f"{book / 'syllabus.yml'}: week {week['week']} names chapters {missing}, which do not exist"
            )
        for index, number in enumerate(week["chapters"]):
            path = chapters[number]
            study = study_minutes(path, **plan["study"])
            first = index == 0
            rows.append(
                f"| {week['week'] if first else ''} | {number} | about {5 * max(1, round(study / 5)):.0f} min | "
                f"{_duration(cpu[path.name]) if path.name in cpu else '—'} | "
                f"{week['topics'] if first else ''} | {week['hand_in'] if first else ''} |"
            )
    return "\n".join(rows)


def assignment_rubrics(root: str | Path = ".") -> str:
    """Each graded assignment's title, when it comes and its rubric, read from the student
    notebooks under ``student/assignments`` (their opening cell states the task and the points)."""
    sections = []
    for notebook in sorted(Path(root, "student", "assignments").glob("*/*.ipynb")):
        opening = "".join(json.loads(notebook.read_text())["cells"][0]["source"]).splitlines()
        title = next(line for line in opening if line.startswith("# "))
        start = next(i for i, line in enumerate(opening) if line.startswith("*After"))
        end = opening.index("", start) if "" in opening[start:] else len(opening)
        when = " ".join(opening[start:end])
        table = [line for line in opening if line.startswith("|")]
        if not table:
            raise ValueError(f"{notebook}: the opening cell has no rubric table")
        sections.append("\n".join([f"**{title[2:]}** (`{notebook.stem}`). {when}", "", *table]))
    if not sections:
        raise ValueError(f"{Path(root, 'student', 'assignments')}: no assignments")
    return "\n\n".join(sections)
