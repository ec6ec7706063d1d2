"""The regimes study's records date themselves: the paper arm's by their own clock, the earlier
ones by the commit that added them (tools/date_records.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import date_records  # noqa: E402


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


def test_every_record_of_the_study_carries_when_it_ran_and_under_which_plan():
    for name in ("regimes.jsonl", "regimes_paper.jsonl"):
        for number, line in enumerate((ROOT / "benchmarks" / "results" / name).read_text().splitlines(), 1):
            record = json.loads(line)
            if "started" in record:  # the paper arm: its own wall clock, in UTC, and the plan's commit
                started, ended = (datetime.fromisoformat(record[key]) for key in ("started", "ended"))
                assert started <= ended and started.utcoffset().total_seconds() == 0, (name, number)
                assert len(record["plan_commit"]) == 40, (name, number)
            else:  # earlier stages: the commit that added the record, when, and the plan before it
                committed = record["committed"]
                assert len(committed["commit"]) == 40 and len(committed["plan_before"]) == 40, (name, number)
                assert datetime.fromisoformat(committed["at"]).utcoffset().total_seconds() == 0, (name, number)


def test_dating_names_the_commit_that_added_each_line_and_the_plan_before_it(tmp_path, monkeypatch):
    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "user.email", "t@example.org")
    git(tmp_path, "config", "user.name", "t")
    plan, records = tmp_path / "benchmarks" / "regimes_plan.md", tmp_path / "records.jsonl"
    plan.parent.mkdir()
    plan.write_text("plan\n")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "plan")
    first_plan = git(tmp_path, "rev-parse", "HEAD")
    records.write_text('{"seed": 0}\n')
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "one run")
    first = git(tmp_path, "rev-parse", "HEAD")
    plan.write_text("plan, amended\n")
    records.write_text('{"seed": 0}\n{"seed": 1}\n{"seed": 2, "started": "2026-01-01T00:00:00+00:00"}\n')
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "amendment and two runs")
    second = git(tmp_path, "rev-parse", "HEAD")
    monkeypatch.setattr(date_records, "ROOT", tmp_path)

    assert date_records.date_records(records) == 2
    dated = [json.loads(line) for line in records.read_text().splitlines()]
    assert dated[0]["committed"]["commit"] == first and dated[1]["committed"]["commit"] == second
    # a run committed with an amendment ran before it: its plan is the one committed before
    assert dated[0]["committed"]["plan_before"] == dated[1]["committed"]["plan_before"] == first_plan
    assert "committed" not in dated[2] and dated[2]["seed"] == 2
    with pytest.raises(SystemExit, match="commit it first"):
        date_records.date_records(records)
    git(tmp_path, "commit", "-qam", "dated")
    assert date_records.date_records(records) == 0  # idempotent
    records.write_text(records.read_text() + "not json\n")
    git(tmp_path, "commit", "-qam", "broken")
    with pytest.raises(SystemExit, match="line 4: not a JSON record"):
        date_records.date_records(records)
