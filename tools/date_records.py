"""Date a sweep's older records from git: the commit that added each line, when, and the plan before it.

Runs before the regimes plan's fifth amendment did not record their wall-clock start and end or
the plan's commit. Git still knows when each record was committed (the run had ended by then) and
which version of the plan was the last committed before that (the latest the run can have run
under). This adds both as ``committed`` to every record without a ``started`` field, in place and
idempotently: a record already dated keeps what it has.

Run: ``python tools/date_records.py benchmarks/results/regimes.jsonl``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLAN = "benchmarks/regimes_plan.md"


def git(*args: str) -> str:
    """Run git in the repository and return its output (raises on failure)."""
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout


def line_commits(path: Path) -> list[str]:
    """The commit that added each line of ``path`` as committed (``git blame``), in line order."""
    relative = str(path.resolve().relative_to(ROOT))
    porcelain = git("blame", "--line-porcelain", "HEAD", "--", relative)
    return [line.split()[0] for line in porcelain.splitlines()
            if len(line) > 40 and line[40] == " " and all(c in "0123456789abcdef" for c in line[:40])]


def commit_time(commit: str) -> str:
    """A commit's date in ISO 8601, UTC, to the second."""
    stamp = int(git("show", "-s", "--format=%ct", commit).strip())
    return datetime.fromtimestamp(stamp, timezone.utc).isoformat(timespec="seconds")


def last_change(path: str, revision: str = "HEAD") -> str | None:
    """The last commit at or before ``revision`` that changed ``path`` (relative to the
    repository); None if none did."""
    found = git("log", "-1", "--format=%H", revision, "--", path).strip()
    return found or None


def plan_before(commit: str) -> str | None:
    """The last commit that changed the plan before ``commit`` (in its parent's history); None if none."""
    return last_change(PLAN, f"{commit}^")


def plan_now() -> tuple[str, bool]:
    """The last commit that changed the plan, and whether the working tree's plan differs from it."""
    return last_change(PLAN) or "", bool(git("status", "--porcelain", "--", PLAN).strip())


def date_records(path: Path) -> int:
    """Add ``committed`` (commit, time, the plan before it) to each undated record of ``path``;
    return how many were dated. The file must be committed as it stands (blame reads HEAD)."""
    path = Path(path)
    if git("status", "--porcelain", "--", str(path.resolve().relative_to(ROOT))).strip():
        raise SystemExit(f"{path}: commit it first (each line is dated by the commit that added it)")
    lines = path.read_text().splitlines()
    commits = line_commits(path)
    if len(commits) != len(lines):
        raise SystemExit(f"{path}: git blame names {len(commits)} lines, the file has {len(lines)}")
    times, plans, dated, out = {}, {}, 0, []
    for number, (line, commit) in enumerate(zip(lines, commits), start=1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise SystemExit(f"{path}, line {number}: not a JSON record ({error})") from error
        if "started" not in record and "committed" not in record:
            times.setdefault(commit, commit_time(commit))
            plans.setdefault(commit, plan_before(commit))
            record["committed"] = {"commit": commit, "at": times[commit], "plan_before": plans[commit]}
            dated += 1
        out.append(json.dumps(record))
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w") as file:
        file.write("\n".join(out) + "\n")
    os.replace(temporary, path)
    return dated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("records", nargs="+", type=Path)
    for path in parser.parse_args().records:
        print(f"{path}: {date_records(path)} records dated")


if __name__ == "__main__":
    main()
