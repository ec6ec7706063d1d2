"""Train Tiny3D (GroupNorm) on a synthetic folder; run alone or under torchrun for the DDP test.

Usage: ddp_train.py DATA OUT. Also evaluates on an odd number of clips, which two processes
cannot split evenly: every clip must still be counted once.
"""

import json
import sys

import torch
from torch.utils.data import Subset

from vmp.data import ClipTransform, VideoFolder
from vmp.models import build_model
from vmp.train import TrainConfig, distributed_context, evaluate, fit

data, out = sys.argv[1], sys.argv[2]
transform = ClipTransform(size=32, short_side=32, train=False)
train = VideoFolder(data, "train", frames=5, mode="center", transform=transform)
val = VideoFolder(data, "val", frames=5, mode="center", transform=transform)
torch.manual_seed(0)
model = build_model("tiny3d", len(train.classes), 4, 32, norm="group")
history = fit(model, train, val, TrainConfig(epochs=2, batch_size=8, optimizer="sgd", lr=0.05, tav_weight=0.5, seed=3))
odd = Subset(train, range(len(train) - 1 + len(train) % 2))  # an odd number of clips
test = evaluate(model, odd, batch_size=4)
rank, world = distributed_context()
if rank == 0:
    with open(out, "w") as handle:
        json.dump({"world": world, "history": history, "odd_clips": len(odd),
                   "test": {key: value for key, value in test.items() if key != "confusion"}}, handle)
