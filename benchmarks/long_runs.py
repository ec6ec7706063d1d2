"""Longer training runs than the book's time budget allows, for chapters 8 and 9 to quote.

X3D and TimeSformer from random weights, in the book profile (the synthetic benchmark on a CPU),
each with plain frames and with the VMP layer, for ``--epochs`` epochs instead of the chapters'
few. Writes every run's history and test metrics to ``benchmarks/results/long_runs.json``.

    python benchmarks/long_runs.py --epochs 30 --threads 1
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from vmp.checkpoint import atomic_write_json
from vmp.experiment import get_profile, load_splits, train_and_test
from vmp.prompt import m_n_for

RUNS = {  # backbone: (layout, options) as chapters 8 and 9 build them
    "x3d_xs": ("BCTHW", {"width_factor": 1.0, "depth_factor": 1.0}),
    "timesformer": ("BTCHW", {}),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "long_runs.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    profile = get_profile("book", epochs=args.epochs)
    results = {"epochs": args.epochs, "profile": "book", "runs": {}}
    for backbone, (layout, options) in RUNS.items():
        splits = load_splits(profile, layout=layout)
        for input in ("frames", "vmp"):
            start = time.perf_counter()
            init = m_n_for(50.0, 0.1) if input == "vmp" else None
            run = train_and_test(backbone, profile, splits, input=input, seed=0, prompt_init=init, **options)
            results["runs"][f"{backbone}/{input}"] = {
                "options": options, "history": run.history, "seconds": round(time.perf_counter() - start),
                "test": {key: run.test[key] for key in ("top1", "mean_class_accuracy")},
            }
            print(f"{backbone:12s} {input:7s} test top-1 {run.test['top1']:.3f} "
                  f"({time.perf_counter() - start:.0f} s)", flush=True)
            atomic_write_json(args.out, results)


if __name__ == "__main__":
    main()
