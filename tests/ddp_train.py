"""Train Tiny3D (GroupNorm) on a synthetic folder; run alone or under torchrun for the DDP test.

Usage: ddp_train.py DATA OUT
"""

import json
import sys

import torch

from vmp.data import ClipTransform, VideoFolder
from vmp.models import build_model
from vmp.train import TrainConfig, distributed_context, fit

data, out = sys.argv[1], sys.argv[2]
transform = ClipTransform(size=32, short_side=32, train=False)
train = VideoFolder(data, "train", frames=5, mode="center", transform=transform)
val = VideoFolder(data, "val", frames=5, mode="center", transform=transform)
torch.manual_seed(0)
model = build_model("tiny3d", len(train.classes), 4, 32, norm="group")
history = fit(model, train, val, TrainConfig(epochs=2, batch_size=8, optimizer="sgd", lr=0.05, tav_weight=0.5, seed=3))
rank, world = distributed_context()
if rank == 0:
    with open(out, "w") as handle:
        json.dump({"world": world, "history": history}, handle)
