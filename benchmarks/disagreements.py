"""Per-clip test predictions of chapter 7's fine-tuning over seeds: where frames and VMP disagree.

    python benchmarks/disagreements.py --threads 1

Fine-tunes the book profile's SlowFast on chapter 7's subset (6 classes, 30 training clips each)
with plain frames and with the VMP layer, with the recipe ``benchmarks/finetune.py`` chose
(``vmp.experiment.FINETUNE``), at seeds 0, 1 and 2, the seeds of ``finetune.json``, and writes
every run's prediction for every test clip to ``benchmarks/results/disagreements.json``. Chapter 7
reads it to say what the clips the two inputs disagree on have in common over seeds, not only in
its own run. Each run also records the test top-1 ``finetune.json`` holds for the same input and
seed: another CPU moves a run by a clip or a few, so the two need not match. Runs already in the
file are kept, so more seeds can be added later (``--seeds 0 1 2 3 4``). About 5 minutes a run on a
2-core CPU shared with other work.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from vmp.book.disagreement import clip_identity, predictions
from vmp.checkpoint import atomic_write_json
from vmp.experiment import fine_tune_setting, train_and_test

RESULTS = Path(__file__).resolve().parent / "results"
BACKBONE = "slowfast_r50"
INPUTS = ("frames", "vmp")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=RESULTS / "disagreements.json")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    setting = fine_tune_setting(BACKBONE, "book")
    test = setting.splits.test
    recorded = json.loads((RESULTS / "finetune.json").read_text())[BACKBONE]["final"]
    result = {"backbone": BACKBONE, "classes": test.classes, "seeds": args.seeds,
              "videos": ["{}_{:04d}".format(*clip_identity(sample.path)) for sample in test.samples],
              "labels": [sample.label for sample in test.samples], "threads": torch.get_num_threads(),
              "runs": []}
    if args.out.is_file():  # keep the runs already made on the same clips
        earlier = json.loads(args.out.read_text())
        if (earlier["videos"], earlier["labels"]) != (result["videos"], result["labels"]):
            raise SystemExit(f"{args.out} holds other test clips; move it away first")
        result["runs"] = [run for run in earlier["runs"] if run["seed"] in args.seeds]
    done = {(run["input"], run["seed"]) for run in result["runs"]}
    for seed in args.seeds:
        for input in INPUTS:
            if (input, seed) in done:
                continue
            start = time.perf_counter()
            run = train_and_test(BACKBONE, setting.profile, setting.splits, input=input, seed=seed)
            predicted = predictions(run.model, test)
            top1 = sum(p == y for p, y in zip(predicted, result["labels"])) / len(test)
            assert abs(top1 - run.test["top1"]) < 1e-9, (top1, run.test["top1"])
            same = [r["test_top1"] for r in recorded[input] if r["seed"] == seed]
            record = {"input": input, "seed": seed, "test_top1": top1, "finetune_json_top1": same[0] if same else None,
                      "seconds": round(time.perf_counter() - start, 1), "predictions": predicted}
            result["runs"].append(record)
            print(json.dumps({k: v for k, v in record.items() if k != "predictions"}), flush=True)
            atomic_write_json(args.out, result)


if __name__ == "__main__":
    main()
