"""The graded assignments: student versions without answers, and an autograder whose scores are right.

``tools/grade.py`` releases each assignment with nbgrader and grades a folder of submissions; here it
grades a correct, a partly wrong and a blank submission of each assignment and checks every part's
points, and the student versions are checked to hold no solution and no hidden test.
"""

from __future__ import annotations

import csv
import importlib.util
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("grade", ROOT / "tools" / "grade.py")
grade = importlib.util.module_from_spec(spec)
spec.loader.exec_module(grade)

SOLUTION_REGION = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$\n?", re.MULTILINE)


def source(assignment: str) -> nbformat.NotebookNode:
    return nbformat.read(ROOT / "course" / "source" / assignment / f"{assignment}.ipynb", as_version=4)


def student_version(assignment: str) -> nbformat.NotebookNode:
    return nbformat.read(grade.STUDENT_ASSIGNMENTS / assignment / f"{assignment}.ipynb", as_version=4)


def answered(assignment: str, changes: dict[str, str] | None = None) -> nbformat.NotebookNode:
    """The student version with every answer cell filled in from the source's solution, or from ``changes``."""
    solutions = {cell.metadata["nbgrader"]["grade_id"]: cell.source for cell in source(assignment).cells
                 if cell.metadata.get("nbgrader", {}).get("solution")}
    notebook = student_version(assignment)
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in solutions:
            cell.source = (changes or {}).get(grade_id, SOLUTION_REGION.sub("", solutions[grade_id]))
    return notebook


def graded_parts(assignment: str) -> dict[str, float]:
    """Each automatically graded part's points, from the source notebook's test cells."""
    return {
        cell.metadata["nbgrader"]["grade_id"]: cell.metadata["nbgrader"]["points"]
        for cell in source(assignment).cells
        if cell.metadata.get("nbgrader", {}).get("grade") and not cell.metadata["nbgrader"]["solution"]
    }


def test_every_assignment_has_a_task_a_rubric_public_and_hidden_tests_and_a_part_graded_by_hand():
    for assignment in grade.assignments():
        cells = source(assignment).cells
        assert "| part | what | points |" in cells[0].source, f"{assignment}: the opening cell holds the rubric"
        graded = [cell for cell in cells if cell.metadata.get("nbgrader", {}).get("grade")]
        tests = [cell for cell in graded if not cell.metadata["nbgrader"]["solution"]]
        assert len(tests) >= 3 and all("BEGIN HIDDEN TESTS" in cell.source for cell in tests), assignment
        by_hand = [cell for cell in graded if cell.metadata["nbgrader"]["solution"]]
        assert by_hand, f"{assignment}: no part graded by hand"
        rubric = sum(int(points) for points in re.findall(r"\| (\d+) \((?:automatic|by hand)\) \|", cells[0].source))
        points = sum(cell.metadata["nbgrader"]["points"] for cell in tests + by_hand)
        assert rubric == points, f"{assignment}: the rubric adds to {rubric}, the graded cells to {points}"


@pytest.mark.slow  # nbgrader releases both assignments
def test_student_versions_are_current_and_hold_no_solution_and_no_hidden_test(tmp_path):
    written = grade.release(tmp_path)
    for path in written:
        committed = grade.STUDENT_ASSIGNMENTS / path.parent.name / path.name
        assert committed.read_text() == path.read_text(), f"{committed} is out of date: run make assignments"
    for assignment in grade.assignments():
        text = nbformat.writes(student_version(assignment))
        for leak in ("BEGIN SOLUTION", "HIDDEN TESTS", "Mark scheme", "refuse_names", "holm_adjusted", "grad_logit"):
            assert leak not in text, f"{assignment}: the student version holds {leak!r}"


def test_the_published_book_holds_no_assignment_solution():
    toc = (ROOT / "_toc.yml").read_text()
    assert "course/" not in toc
    book = "\n".join(path.read_text() for path in (ROOT / "book").glob("*.ipynb"))
    assert "_PromptFunction" not in book, "a chapter shows the package's fused layer as an answer to assignment 1"
    assert "slope_shift_gradients" not in book and "def holm" not in book


def scores(csv_path: Path) -> dict[str, dict[str, str]]:
    with csv_path.open() as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


WRONG = {
    # part 3: the clip's gradient only through the product, not through the attention
    "a1_layer_backward": {"a1-function": '''
class MotionPromptFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, clip, slope, shift, mean, std):
        difference = gray_difference(clip, mean, std)
        attention = torch.sigmoid(slope * (difference - shift))
        ctx.save_for_backward(clip, slope, shift, difference, attention)
        return clip[:, :, 1:] * attention.unsqueeze(1), attention

    @staticmethod
    def backward(ctx, grad_prompts, grad_attention):
        clip, slope, shift, difference, attention = ctx.saved_tensors
        grad_map = grad_attention + (grad_prompts * clip[:, :, 1:]).sum(dim=1)
        grad_slope, grad_shift = slope_shift_gradients(difference, slope, shift, grad_map)
        grad_clip = torch.zeros_like(clip)
        grad_clip[:, :, 1:] = grad_prompts * attention.unsqueeze(1)
        return grad_clip, grad_slope, grad_shift, None, None
''', "a1-written": "The sigmoid saturates."},
    # part 2: Holm without the running maximum (adjusted values can fall as p grows)
    "a2_paired_study": {"a2-holm": '''
def holm(p_values):
    order = sorted(p_values, key=p_values.get)
    return {name: min(1.0, (len(order) - rank) * p_values[name]) for rank, name in enumerate(order)}
'''},
}
WRONG_PART = {"a1_layer_backward": "a1-function-tests", "a2_paired_study": "a2-holm-tests"}


@pytest.mark.slow  # nbgrader executes and grades three submissions
@pytest.mark.parametrize("assignment", ["a1_layer_backward", "a2_paired_study"])
def test_one_command_grades_a_folder_into_the_expected_scores(assignment, tmp_path):
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    nbformat.write(answered(assignment), submissions / "correct.ipynb")
    nbformat.write(answered(assignment, WRONG[assignment]), submissions / "partly_wrong.ipynb")
    (submissions / "blank").mkdir()
    nbformat.write(student_version(assignment), submissions / "blank" / f"{assignment}.ipynb")
    rows = grade.grade(assignment, submissions, tmp_path / "scores.csv")
    assert [row["student"] for row in rows] == ["blank", "correct", "partly_wrong"]
    table = scores(tmp_path / "scores.csv")
    parts = graded_parts(assignment)
    automatic = sum(parts.values())
    assert float(table["correct"]["score"]) == automatic, table["correct"]
    assert all(float(table["correct"][part]) == points for part, points in parts.items())
    wrong = WRONG_PART[assignment]
    assert float(table["partly_wrong"][wrong]) == 0
    assert float(table["partly_wrong"]["score"]) == automatic - parts[wrong], table["partly_wrong"]
    assert float(table["blank"]["score"]) == 0, table["blank"]
    assert float(table["correct"]["max_score"]) > automatic  # the parts graded by hand count in the maximum
