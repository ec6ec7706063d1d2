"""The clean source-task control: does a source task that keeps direction help the targets?

    python benchmarks/source_control.py --arm diagonal --seed 0   # one checkpoint (resumable)
    python benchmarks/source_control.py --all                     # every checkpoint not yet written
    python benchmarks/regimes.py --stage source_control           # then fine-tune each in the base regime

The plan's sixth amendment. Two arms, each Tiny3D pretrained from frames with the book's recipe,
three pretraining seeds per arm so that one checkpoint's luck shows as spread:

- ``pooled``: the book's source task (:data:`vmp.pretrain.SOURCE`); seed 0 is the book's own
  checkpoint (``vmp/checkpoints``), seeds 1 and 2 are pretrained here;
- ``diagonal``: :data:`vmp.pretrain.DIAGONAL_SOURCE`, the same motions with direction kept in the
  label only on the diagonals, so no source class is a target class (the earlier control split the
  horizontal and vertical slides, which are four of the targets).

Checkpoints go to ``benchmarks/results/source_control/<arm>_s<seed>/`` (weights, history, manifest,
as ``vmp/checkpoints``); the regimes sweep's ``source_control`` stage reads them by name.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import torch

from vmp.data.synth import SynthConfig, generate
from vmp.pretrain import DIAGONAL_SOURCE, SOURCE, pretrain
from vmp.weights import CHECKPOINTS

OUT = Path(__file__).resolve().parent / "results" / "source_control"
ARMS = {"pooled": SOURCE, "diagonal": DIAGONAL_SOURCE}
PRETRAIN_SEEDS = (0, 1, 2)
BACKBONE = "tiny3d"


def checkpoint_name(arm: str, seed: int) -> str:
    """The name a checkpoint goes by in the sweep's records (``source`` field)."""
    return f"{arm}_s{seed}"


def checkpoint_folder(arm: str, seed: int) -> Path:
    """Where one arm's checkpoint of one pretraining seed lives (the book's own for pooled seed 0)."""
    if arm not in ARMS or seed not in PRETRAIN_SEEDS:
        raise ValueError(f"no checkpoint {arm!r} seed {seed}; arms {sorted(ARMS)}, seeds {PRETRAIN_SEEDS}")
    return CHECKPOINTS if (arm, seed) == ("pooled", 0) else OUT / checkpoint_name(arm, seed)


#: Every checkpoint of the control by name, for the sweep.
FOLDERS = {checkpoint_name(arm, seed): checkpoint_folder(arm, seed) for arm in ARMS for seed in PRETRAIN_SEEDS}


def pretrain_one(arm: str, seed: int, data_root: Path, work_root: Path) -> dict | None:
    """Pretrain one checkpoint unless it is written (or the book's); its manifest entry, or None."""
    folder = checkpoint_folder(arm, seed)
    if folder == CHECKPOINTS or (folder / "manifest.json").is_file():
        return None
    source: SynthConfig = ARMS[arm]
    data = data_root / arm
    if not (data / "synth.json").is_file():
        generate(data, source)
    return pretrain(BACKBONE, data, folder, seed=seed, work=work_root / checkpoint_name(arm, seed), source=source)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arm", choices=sorted(ARMS))
    parser.add_argument("--seed", type=int, choices=PRETRAIN_SEEDS)
    parser.add_argument("--all", action="store_true", help="every checkpoint not yet written, seed-major")
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "vmp-source-control-data")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "vmp-source-control",
                        help="a killed run resumes from the training checkpoint kept here")
    args = parser.parse_args()
    if args.all == (args.arm is not None):
        parser.error("give --all, or --arm with --seed")
    todo = [(arm, seed) for seed in PRETRAIN_SEEDS for arm in ARMS] if args.all else [(args.arm, args.seed)]
    for arm, seed in todo:
        entry = pretrain_one(arm, seed, args.data, args.work)
        if entry is not None:
            print(f"{checkpoint_name(arm, seed)}: source test top-1 {entry['source_top1']:.3f} "
                  f"in {entry['train_seconds']:.0f} s", flush=True)


if __name__ == "__main__":
    torch.set_num_threads(int(os.environ.get("VMP_THREADS", torch.get_num_threads())))
    main()
