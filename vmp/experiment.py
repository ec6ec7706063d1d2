"""The book's experiments in three calls: a profile, its data splits, and one training run.

A profile says where the data come from and how large clips, models and schedules are:

- ``"book"``: a CPU, the synthetic motion benchmark generated on the fly (its first 6 classes:
  four directions, a faster "right" and go-stop, 60 clips each), 8+1 frames cropped to 64 pixels
  from 80, random weights. The published pages and the tests run this one.
- ``"full"``: a GPU (Colab), the UCF101 subset downloaded with :mod:`vmp.data.download`, Kinetics
  weights, the paper's schedule (SGD, lr 0.005, steps at epochs 11 and 14, 25 epochs).

Chapters 7-10 switch between them by changing one name; everything else is the same code.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from vmp.data import ClipTransform, VideoFolder
from vmp.data.datasets import ClipDataset
from vmp.data.synth import SynthConfig, generate
from vmp.models import SPECS, build_model
from vmp.models.adapter import PromptedModel
from vmp.train import TrainConfig, evaluate, fit, seed_everything


@dataclass(frozen=True)
class Profile:
    """Data, clip size and schedule of one experimental setting (see the module docstring)."""

    name: str
    frames: int  # T, what the backbone sees; clips carry T+1 frames
    crop: int
    short_side: int  # resize the short side to this, then crop (random in training: a translation)
    epochs: int
    batch_size: int
    optimizer: str
    lr: float
    prompt_lr: float | None  # the VMP layer's own learning rate for m and n
    milestones: tuple[int, ...]  # with schedule "step"
    flip: bool  # horizontal flips mirror motion: off when direction is the label
    weights: str | None  # None: random initialisation; "kinetics": pretrained backbones
    synthetic: SynthConfig | None  # the synthetic benchmark to generate, or None for the UCF101 subset

    def train_config(self, seed: int = 0, tav_weight: float = 0.0, **changes) -> TrainConfig:
        """The :class:`~vmp.train.TrainConfig` of this profile, with any field changed."""
        schedule = "step" if self.milestones else "cosine"
        config = TrainConfig(epochs=self.epochs, batch_size=self.batch_size, optimizer=self.optimizer, lr=self.lr,
                             prompt_lr=self.prompt_lr, schedule=schedule, milestones=self.milestones,
                             tav_weight=tav_weight, seed=seed)
        return dataclasses.replace(config, **changes)


PROFILES = {
    "book": Profile("book", frames=8, crop=64, short_side=80, epochs=12, batch_size=8, optimizer="adamw", lr=3e-3,
                    prompt_lr=0.03, milestones=(), flip=False, weights=None,
                    synthetic=SynthConfig(seed=0, classes=6, clips_per_class=60, frames=9, size=80)),
    "full": Profile("full", frames=8, crop=224, short_side=256, epochs=25, batch_size=8, optimizer="sgd", lr=0.005,
                    prompt_lr=None, milestones=(11, 14), flip=True, weights="kinetics", synthetic=None),
}


def get_profile(name: str, **changes) -> Profile:
    """The named profile, with fields changed (``frames=32`` for SlowFast's standard clip, say)."""
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose one of {sorted(PROFILES)}")
    return dataclasses.replace(PROFILES[name], **changes)


class Splits(NamedTuple):
    """Training, validation and test clips, and where they were read from."""

    train: ClipDataset
    val: ClipDataset
    test: ClipDataset
    root: Path


def load_splits(profile: Profile, layout: str = "BCTHW", root: str | os.PathLike | None = None) -> Splits:
    """The three splits of the profile's data, laid out for a backbone (``"BTCHW"`` for TimeSformer).

    ``book`` generates the synthetic benchmark into ``root`` (a new temporary folder by default) and
    keeps its decoded frames in memory; ``full`` downloads the UCF101 subset (needs a network).
    """
    if profile.synthetic is not None:
        root = generate(Path(root or tempfile.mkdtemp(prefix="vmp-synthetic-")), profile.synthetic)
    else:
        from vmp.data.download import ucf101_subset

        root = ucf101_subset(root)
    small = profile.synthetic is not None

    def split(name: str) -> ClipDataset:
        training = name == "train"
        transform = ClipTransform(size=profile.crop, short_side=profile.short_side, train=training,
                                  flip=profile.flip and training, layout=layout)
        return VideoFolder(root, name, frames=profile.frames + 1, mode="random" if training else "center",
                           transform=transform, cache=small)

    return Splits(split("train"), split("val"), split("test"), Path(root))


class Run(NamedTuple):
    """One training run: the model, its history, its test metrics, and the layer's (slope, shift) at start."""

    model: PromptedModel
    history: list[dict]
    test: dict
    initial: tuple[float, float] | None


def train_and_test(
    backbone: str, profile: Profile, splits: Splits, input: str = "vmp", seed: int = 0, tav_weight: float = 0.0,
    prompt_init: tuple[float, float] | None = None, learn_prompt: bool = True, out: str | os.PathLike | None = None,
    **backbone_options,
) -> Run:
    """Build ``backbone`` behind the input stage, train it with the profile's schedule, test it.

    ``learn_prompt=False`` freezes the layer's slope and shift at their initial values. The seed
    fixes the backbone's initial weights, the layer's draw of (m, n) and the batch order.
    """
    if backbone not in SPECS:
        raise ValueError(f"unknown backbone {backbone!r}; choose one of {sorted(SPECS)}")
    seed_everything(seed)
    model = build_model(backbone, len(splits.train.classes), profile.frames, profile.crop, input=input,
                        weights=profile.weights, prompt_init=prompt_init, **backbone_options)
    initial = None
    if model.prompt is not None:
        initial = (model.prompt.slope.item(), model.prompt.shift.item())
        model.prompt.requires_grad_(learn_prompt)
    history = fit(model, splits.train, splits.val, profile.train_config(seed, tav_weight), out=out)
    return Run(model, history, evaluate(model, splits.test), initial)
