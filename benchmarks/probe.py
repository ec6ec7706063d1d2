"""Did pretraining on a source task that pools directions leave direction in the features? A linear probe.

    python benchmarks/probe.py

The book's source task pools motion directions into its labels (a ``slide-h`` moves left or right),
while the target classes are directions. For each backbone, frozen, with the book's pretrained
weights and with random ones: features of the regimes study's base split (the input to the
classification head, frames in), a multinomial logistic regression fitted on the 30 training clips
per class, its weight decay chosen on the 300 validation clips, then tested on the 600 test clips,
overall and per class. Random weights are the floor: what the architecture gives without any
pretraining. One JSON object goes to ``benchmarks/results/probe.json``. Exploratory: the study's
plan did not list it.
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

import torch
from torch import nn

from vmp.checkpoint import atomic_write_json
from vmp.experiment import get_profile, load_splits, synthetic_key
from vmp.models import SPECS, build_model
from vmp.regimes_design import CLASS_SEED, CLASSES, study_config
from vmp.train import seed_everything

RESULTS = Path(__file__).resolve().parent / "results" / "probe.json"
BACKBONES = ("tiny3d", "slowfast_r50", "x3d_xs", "timesformer")
WEIGHT_DECAYS = (1e-4, 1e-3, 1e-2, 1e-1)


@torch.no_grad()
def features(model: nn.Module, dataset) -> tuple[torch.Tensor, torch.Tensor]:
    """The input of the model's last linear layer for every clip, and the clips' labels."""
    head = [module for module in model.modules() if isinstance(module, nn.Linear)][-1]
    captured = []
    hook = head.register_forward_hook(lambda module, inputs, output: captured.append(inputs[0].flatten(1)))
    labels = []
    model.eval()
    for index in range(len(dataset)):
        clip, label = dataset[index]
        model(clip.unsqueeze(0))
        labels.append(label)
    hook.remove()
    return torch.cat(captured), torch.tensor(labels)


def fit_probe(train: tuple, weight_decay: float, classes: int) -> nn.Linear:
    """Multinomial logistic regression on standardised features, full-batch L-BFGS."""
    x, y = train
    probe = nn.Linear(x.shape[1], classes)
    optimizer = torch.optim.LBFGS(probe.parameters(), max_iter=300, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(probe(x), y) + weight_decay * probe.weight.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return probe


def probe_backbone(backbone: str, pretrained: bool) -> dict:
    seed_everything(0)
    profile = dataclasses.replace(get_profile("book"), synthetic=study_config())
    splits = load_splits(profile, SPECS[backbone].layout).subset(CLASSES, 30, seed=CLASS_SEED)
    classes = len(splits.train.classes)
    model = build_model(backbone, classes, profile.frames, profile.crop, input="frames",
                        weights="book" if pretrained else None)
    start = time.perf_counter()
    train, val, test = (features(model, split) for split in (splits.train, splits.val, splits.test))
    mean, std = train[0].mean(0), train[0].std(0) + 1e-6
    train, val, test = ((((x - mean) / std), y) for x, y in (train, val, test))
    train, val, test = list(train), list(val), list(test)
    accuracy = {}
    for weight_decay in WEIGHT_DECAYS:
        probe = fit_probe(train, weight_decay, classes)
        accuracy[weight_decay] = (probe(val[0]).argmax(1) == val[1]).float().mean().item()
    chosen = max(WEIGHT_DECAYS, key=accuracy.get)
    probe = fit_probe(train, chosen, classes)
    correct = (probe(test[0]).argmax(1) == test[1]).numpy()
    labels = test[1].numpy()
    return {"backbone": backbone, "pretrained": pretrained, "features": train[0].shape[1],
            "weight_decay": chosen, "val_top1": accuracy[chosen], "test_top1": float(correct.mean()),
            "per_class": {name: float(correct[labels == k].mean()) for k, name in enumerate(splits.test.classes)},
            "test_correct": correct.astype(int).tolist(), "test_labels": labels.tolist(),
            "classes": list(splits.test.classes), "synthetic_key": synthetic_key(study_config()),
            "seconds": round(time.perf_counter() - start, 1)}


def main() -> None:
    runs = []
    for backbone in BACKBONES:
        for pretrained in (True, False):
            run = probe_backbone(backbone, pretrained)
            print({k: run[k] for k in ("backbone", "pretrained", "val_top1", "test_top1", "per_class", "seconds")},
                  flush=True)
            runs.append(run)
    atomic_write_json(RESULTS, {"runs": runs})


if __name__ == "__main__":
    torch.set_num_threads(int(os.environ.get("VMP_THREADS", torch.get_num_threads())))
    main()
