"""Does pooling directions in the source task cost the targets? Pretrain a control that keeps them.

    python benchmarks/directed_source.py            # pretrain Tiny3D on the directed source task (resumable)
    python benchmarks/regimes.py --stage source     # then fine-tune it in the study's base regime

The book's source task pools directions into its labels (a ``slide-h`` moves left or right), while
four of the six target classes are directions. The control, ``vmp.pretrain.DIRECTED_SOURCE``, is the
same task with the slides' direction in the label (10 classes x 320 clips: as many, 3,200, as the
book's task, with the same motions, looks and nuisance). Tiny3D is pretrained on it with the book's recipe into
``benchmarks/results/directed_source/`` (checkpoint and manifest, as ``vmp/checkpoints/``); the
regimes study's ``source`` stage then fine-tunes it with frames and with VMP, five seeds, in the base
regime, beside the book's checkpoint. Exploratory: added to the plan after its other stages.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import torch

from vmp.data.synth import generate
from vmp.pretrain import DIRECTED_SOURCE, pretrain

OUT = Path(__file__).resolve().parent / "results" / "directed_source"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="tiny3d")
    parser.add_argument("--data", type=Path, help="folder for the generated task (default: a temporary one)")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "vmp-directed-source",
                        help="a killed run resumes from the training checkpoint kept here")
    args = parser.parse_args()
    data = args.data or Path(tempfile.gettempdir()) / "vmp-directed-source-data"
    if not (data / "synth.json").is_file():
        generate(data, DIRECTED_SOURCE)
    entry = pretrain(args.backbone, data, OUT, work=args.work, source=DIRECTED_SOURCE)
    print(f"{args.backbone}: directed source test top-1 {entry['source_top1']:.3f} in {entry['train_seconds']:.0f} s")


if __name__ == "__main__":
    torch.set_num_threads(int(os.environ.get("VMP_THREADS", torch.get_num_threads())))
    main()
