"""How often each interval method covers the truth at 3, 5 and 10 seeds, simulated from models fitted
to the regimes study's runs (``vmp.stats.coverage``); writes ``benchmarks/results/coverage.json``, which
chapter 11 reads.

    python benchmarks/coverage.py                 # the primary questions, the confirmatory one and the scratch lead
    python benchmarks/coverage.py --replicates 100  # a quick look

About 10 minutes on one core at the defaults (the bootstrap's resamples cost most).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vmp.checkpoint import read_records  # noqa: E402
from vmp.regimes import CONFIRMATORY, PRIMARY, Question, regime_fields  # noqa: E402
from vmp.stats.coverage import study_coverage  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
#: The exploratory lead the confirmatory question asked again: VMP - frames from scratch, seeds 0-2.
SCRATCH = Question("scratch", "VMP - frames, from scratch (exploratory)", regime_fields("scratch", "vmp"),
                   regime_fields("scratch", "frames"), ("tiny3d", "slowfast_r50"))
#: 95%, and the level of a Bonferroni interval in a family of six questions.
LEVELS = (0.95, 1 - 0.05 / 6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=1000, help="simulated studies per seed count")
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples per simulated study")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--records", type=Path, default=RESULTS / "regimes.jsonl")
    parser.add_argument("--out", type=Path, default=RESULTS / "coverage.json")
    args = parser.parse_args()
    records = read_records(args.records)
    started = time.time()
    questions = (*PRIMARY, CONFIRMATORY, SCRATCH)
    scenarios = study_coverage(records, questions, (3, 5, 10), LEVELS, args.replicates, args.resamples, args.seed)
    result = {"replicates": args.replicates, "resamples": args.resamples, "seed": args.seed,
              "seed_counts": [3, 5, 10], "levels": [f"{level:.4f}" for level in LEVELS],
              "records": len(records), "seconds": round(time.time() - started, 1), "questions": scenarios}
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out} in {result['seconds']:.0f} s")


if __name__ == "__main__":
    main()
