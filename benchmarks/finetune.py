"""Fine-tune the book's pretrained backbones on the heavy-nuisance benchmark: recipes chosen on
validation, then several seeds with frames, differences and VMP.

    python benchmarks/finetune.py --backbone tiny3d slowfast_r50 x3d_xs timesformer

For each backbone, on the subset the chapters use (6 classes, 30 training clips each):

1. the learning rate: each of ``--lrs`` with every input (or those of ``--select-inputs``) at seed
   0; the one with the best mean *validation* top-1 (last epoch) over them is kept;
2. the layer's own learning rate: VMP at seed 0 with the backbone's rate or 0.03; the better one on
   validation is kept;
3. the chosen recipe with every input at the other seeds.

Every run (validation and test top-1, the layer's slope and shift per epoch, seconds) goes to
``benchmarks/results/finetune.json``; chapters 6-9 read it, and ``vmp.experiment.FINETUNE`` must
hold the chosen recipes (a test checks it). The book's results came from

    python benchmarks/finetune.py --backbone tiny3d slowfast_r50 --threads 1
    python benchmarks/finetune.py --backbone x3d_xs timesformer --select-inputs difference

(X3D's and TimeSformer's learning rates chosen on the difference input alone, to save time; X3D
fine-tunes for 16 epochs, its recipe in ``FINETUNE``, since at 8 it was still improving), about an
hour for all four on a 2-core CPU with nothing else running. ``--redo-vmp`` re-runs only the VMP
runs, from the layer's current ``DEFAULT_START``, with each backbone's recorded recipe (the file
records the start its VMP runs used, and keeps the earlier start's runs apart). Never run two of these at once: two
PyTorch processes on two cores slow each other down five- to tenfold.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from vmp.checkpoint import atomic_write_json
from vmp.experiment import get_profile, load_splits, train_and_test
from vmp.models import SPECS
from vmp.prompt import DEFAULT_START

RESULTS = Path(__file__).resolve().parent / "results" / "finetune.json"
INPUTS = ("frames", "difference", "vmp")
#: Learning rates tried per backbone (AdamW): the transformer's are lower, as usual.
LR_GRIDS = {"tiny3d": [1e-3, 3e-3], "slowfast_r50": [1e-3, 3e-3], "x3d_xs": [3e-3, 1e-2], "timesformer": [3e-4, 1e-3]}
SUBSET = {"num_classes": 6, "per_class": 30, "seed": 0}


def one_run(backbone: str, splits, input: str, seed: int, lr: float, prompt_lr: float | None) -> dict:
    profile = get_profile("book")
    start = time.perf_counter()
    changes = {"lr": lr, "prompt_lr": prompt_lr}
    run = train_and_test(backbone, profile, splits, input=input, seed=seed, train_changes=changes)
    record = {"input": input, "seed": seed, "lr": lr, "prompt_lr": prompt_lr, "test_top1": run.test["top1"],
              "val_top1": run.history[-1]["val_top1"], "seconds": round(time.perf_counter() - start, 1),
              "val_curve": [epoch["val_top1"] for epoch in run.history]}
    if run.initial is not None:
        record["slope"] = [run.initial[0]] + [epoch["slope"] for epoch in run.history]
        record["shift"] = [run.initial[1]] + [epoch["shift"] for epoch in run.history]
    print(json.dumps({k: v for k, v in record.items() if k not in ("val_curve", "slope", "shift")}), flush=True)
    return record


def validation_mean(runs: list[dict], lr: float, seed: int, inputs: list[str], prompt_lr: float | None) -> float:
    """Mean last-epoch validation top-1 of the selection runs: ``seed``, ``lr``, ``inputs``, the default layer rate."""
    return statistics.mean(
        r["val_top1"]
        for r in runs
        if r["lr"] == lr and r["seed"] == seed and r["input"] in inputs and r["prompt_lr"] == prompt_lr
    )


def finetune(backbone: str, lrs: list[float], seeds: list[int], select_inputs: list[str] | None = None) -> dict:
    select_inputs = list(INPUTS) if select_inputs is None else select_inputs
    profile = get_profile("book")
    splits = load_splits(profile, SPECS[backbone].layout).subset(**SUBSET)
    default_prompt_lr = profile.prompt_lr
    runs = [one_run(backbone, splits, input, seeds[0], lr, default_prompt_lr) for lr in lrs for input in select_inputs]

    def mean_val(lr: float) -> float:
        return validation_mean(runs, lr, seeds[0], select_inputs, default_prompt_lr)

    lr = max(lrs, key=mean_val)
    runs += [
        one_run(backbone, splits, input, seeds[0], lr, default_prompt_lr)
        for input in INPUTS
        if input not in select_inputs
    ]
    runs.append(one_run(backbone, splits, "vmp", seeds[0], lr, None))  # the layer at the backbone's rate
    candidates = {default_prompt_lr: next(r for r in runs if r["lr"] == lr and r["input"] == "vmp"
                                          and r["prompt_lr"] == default_prompt_lr),
                  None: runs[-1]}
    prompt_lr = max(candidates, key=lambda key: candidates[key]["val_top1"])
    for seed in seeds[1:]:
        runs += [one_run(backbone, splits, input, seed, lr, prompt_lr) for input in INPUTS]
    chosen = [r for r in runs if r["lr"] == lr and (r["input"] != "vmp" or r["prompt_lr"] == prompt_lr)]
    return {"subset": SUBSET, "epochs": profile.train_config(backbone=backbone).epochs, "lrs": lrs,
            "select_inputs": select_inputs,
            "chosen": {"lr": lr, "prompt_lr": prompt_lr}, "seeds": seeds, "runs": runs,
            "selection": {"lr": {str(k): mean_val(k) for k in lrs},
                          "prompt_lr": {str(k): v["val_top1"] for k, v in candidates.items()}},
            "final": {input: [r for r in chosen if r["input"] == input] for input in INPUTS}}


def redo_vmp(backbone: str, recorded: dict) -> dict:
    """Re-run a backbone's VMP runs from the current ``DEFAULT_START`` with its recorded recipe
    (learning rates unchanged: the regimes study ran with the same ones)."""
    profile = get_profile("book")
    splits = load_splits(profile, SPECS[backbone].layout).subset(**SUBSET)
    lr, prompt_lr = recorded["chosen"]["lr"], recorded["chosen"]["prompt_lr"]
    final = [one_run(backbone, splits, "vmp", seed, lr, prompt_lr) for seed in recorded["seeds"]]
    former = [r for r in recorded["runs"] if r["input"] == "vmp"]
    runs = [r for r in recorded["runs"] if r["input"] != "vmp"] + final
    return {**recorded, "start": list(DEFAULT_START), "runs": runs, "former_start_vmp_runs": former,
            "final": {**recorded["final"], "vmp": final}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", nargs="+", default=["tiny3d", "slowfast_r50", "x3d_xs", "timesformer"])
    parser.add_argument("--lrs", nargs="+", type=float, help="learning rates to try (default: LR_GRIDS)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--select-inputs", nargs="+", default=list(INPUTS),
                        help="inputs whose mean validation top-1 chooses the learning rate (default: all three)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    parser.add_argument("--redo-vmp", action="store_true",
                        help="re-run only the VMP runs (after DEFAULT_START changed), with the recorded recipe")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    for backbone in args.backbone:
        if args.redo_vmp:
            result = redo_vmp(backbone, json.loads(args.out.read_text())[backbone])
        else:
            result = finetune(backbone, args.lrs or LR_GRIDS[backbone], args.seeds, args.select_inputs)
            result["start"] = list(DEFAULT_START)
        results = json.loads(args.out.read_text()) if args.out.is_file() else {}
        results[backbone] = result
        atomic_write_json(args.out, results)
        print(f"{backbone}: chose {result['chosen']}", flush=True)


if __name__ == "__main__":
    main()
