"""Grade a folder of submitted notebooks with nbgrader and write their scores to a CSV file.

Run: ``python tools/grade.py ASSIGNMENT SUBMISSIONS [--out scores.csv]`` (``make grade``). A
submission is ``SUBMISSIONS/<student>.ipynb`` or ``SUBMISSIONS/<student>/<ASSIGNMENT>.ipynb``. The
assignment's source notebook (``course/source/ASSIGNMENT``, with the solutions and the hidden
tests) is released into a scratch course directory, every submission is autograded there (public
and hidden tests, a fresh kernel each), and one row per student gives the points of every part.
Parts graded by hand score 0 here; nbgrader's ``formgrader`` grades them later in the same course
directory (``--keep DIR`` keeps it).

``release`` writes the student versions (no solutions, no hidden tests) to ``student/assignments``.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COURSE = ROOT / "course"
STUDENT_ASSIGNMENTS = ROOT / "student" / "assignments"


def assignments() -> list[str]:
    """The assignments' names: the folders under ``course/source``."""
    return sorted(path.name for path in (COURSE / "source").iterdir() if path.is_dir())


def nbgrader(course: Path, *arguments: str) -> None:
    """Run one nbgrader command in ``course``; its log is shown only when it fails."""
    command = [sys.executable, "-m", "nbgrader", *arguments, "--CourseDirectory.root=" + str(course)]
    # nbgrader migrates its gradebook by running `alembic`, which lives beside this interpreter
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    result = subprocess.run(command, cwd=course, capture_output=True, text=True, env={**os.environ, "PATH": path})
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command[2:])} failed:\n{result.stdout}\n{result.stderr}")


def scratch_course(assignment: str, where: Path) -> Path:
    """A course directory holding the assignment's source, released (the gradebook learns its parts)."""
    if assignment not in assignments():
        raise SystemExit(f"unknown assignment {assignment!r}; choose one of {assignments()}")
    course = where / "course"
    (course / "source").mkdir(parents=True)
    shutil.copy(COURSE / "nbgrader_config.py", course)
    shutil.copytree(COURSE / "source" / assignment, course / "source" / assignment)
    nbgrader(course, "generate_assignment", assignment, "--force")
    return course


def find_submissions(assignment: str, submissions: Path) -> dict[str, Path]:
    """``{student: notebook}`` from ``<student>.ipynb`` files and ``<student>/<assignment>.ipynb`` folders."""
    found = {path.stem: path for path in submissions.glob("*.ipynb")}
    for folder in submissions.iterdir():
        notebook = folder / f"{assignment}.ipynb"
        if folder.is_dir() and notebook.is_file():
            if folder.name in found:
                raise SystemExit(f"{folder.name}: two submissions ({found[folder.name]} and {notebook})")
            found[folder.name] = notebook
    if not found:
        raise SystemExit(f"{submissions}: no <student>.ipynb files or <student>/{assignment}.ipynb folders")
    return found


def grade(assignment: str, submissions: Path, out: Path, keep: Path | None = None) -> list[dict]:
    """Autograde every submission of ``assignment`` in ``submissions``; write and return one row per student."""
    from nbgrader.api import Gradebook

    students = find_submissions(assignment, submissions)
    with tempfile.TemporaryDirectory(prefix="grade-") as scratch:
        course = scratch_course(assignment, keep or Path(scratch))
        for student, notebook in students.items():
            target = course / "submitted" / student / assignment / f"{assignment}.ipynb"
            target.parent.mkdir(parents=True)
            shutil.copy(notebook, target)
        nbgrader(course, "autograde", assignment, "--force")
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
            parts = [cell.name for cell in gradebook.find_notebook(assignment, assignment).grade_cells]
            rows = []
            for student in sorted(students):
                graded = gradebook.find_submission_notebook(assignment, assignment, student)
                points = {grade.name: grade.score for grade in graded.grades}
                rows.append({"student": student, **{part: points[part] for part in parts},
                             "score": graded.score, "max_score": graded.max_score,
                             "needs_manual_grade": graded.needs_manual_grade})
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return rows


def release(destination: Path = STUDENT_ASSIGNMENTS) -> list[Path]:
    """Write every assignment's student version (nbgrader's release) under ``destination``."""
    written = []
    for assignment in assignments():
        with tempfile.TemporaryDirectory(prefix="release-") as scratch:
            course = scratch_course(assignment, Path(scratch))
            target = destination / assignment
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(course / "release" / assignment, target)
            written.extend(sorted(target.glob("*.ipynb")))
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    grading = commands.add_parser("grade", help="grade a folder of submissions")
    grading.add_argument("assignment", choices=assignments())
    grading.add_argument("submissions", type=Path)
    grading.add_argument("--out", type=Path, help="the CSV file (default: SUBMISSIONS/scores.csv)")
    grading.add_argument("--keep", type=Path, help="keep the course directory here, for formgrader")
    commands.add_parser("release", help="write the student versions to student/assignments")
    args = parser.parse_args()
    if args.command == "release":
        for path in release():
            print(path.relative_to(ROOT))
        return
    out = args.out or args.submissions / "scores.csv"
    for row in grade(args.assignment, args.submissions, out, args.keep):
        print(f"{row['student']}: {row['score']:g} of {row['max_score']:g}")
    print(f"scores: {out}")


if __name__ == "__main__":
    main()
