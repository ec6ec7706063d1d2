"""The book's experiments in three calls: a profile, its data splits, and one training run.

A profile says where the data come from and how large clips, models and schedules are:

- ``"book"``: a CPU, the synthetic motion benchmark with *heavy* nuisance motion (its first 8
  classes, 50 clips each; chapters fine-tune on a ``subset`` of them), 8+1 frames cropped to 64
  pixels from 80, the book's pretrained weights (:mod:`vmp.pretrain`), and a fine-tuning recipe per
  backbone (:data:`FINETUNE`). The published pages and the tests run this one.
- ``"full"``: a GPU (Colab), the UCF101 subset downloaded with :mod:`vmp.data.download`, Kinetics
  weights, the paper's schedule (SGD, lr 0.005, steps at epochs 11 and 14, 25 epochs).

Chapters 6-10 switch between them by changing one name; everything else is the same code.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import NamedTuple

from vmp.data import ClipTransform, VideoFolder
from vmp.data.datasets import ClipDataset
from vmp.data.download import resolve_cache_dir
from vmp.data.synth import SynthConfig, generate, nuisance
from vmp.models import SPECS, BackboneSpec, build_model, registry
from vmp.models.adapter import PromptedModel
from vmp.prompt import DEFAULT_START, m_n_for
from vmp.train import EarlyStopping, TrainConfig, evaluate, fit, seed_everything


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
    recipes: dict = field(default_factory=dict)  # backbone -> TrainConfig fields that differ from the above
    workers: int = 0  # DataLoader processes that decode clips (0: in the training process)

    def train_config(self, seed: int = 0, tav_weight: float = 0.0, backbone: str | None = None,
                     **changes) -> TrainConfig:
        """The :class:`~vmp.train.TrainConfig` of this profile (and of ``backbone``'s recipe), with any field
        changed."""
        schedule = "step" if self.milestones else "cosine"
        config = TrainConfig(epochs=self.epochs, batch_size=self.batch_size, optimizer=self.optimizer, lr=self.lr,
                             prompt_lr=self.prompt_lr, schedule=schedule, milestones=self.milestones,
                             tav_weight=tav_weight, seed=seed, workers=self.workers)
        return dataclasses.replace(config, **{**self.recipes.get(backbone, {}), **changes})


#: Fine-tuning recipes of the book's pretrained backbones (AdamW), each backbone's ``finetune`` in
#: :data:`vmp.models.registry.REGISTRY`: the learning rates were chosen on the validation split by
#: ``benchmarks/finetune.py`` (its results: ``benchmarks/results/finetune.json``); warm-up and
#: clipping were fixed before it ran.
FINETUNE = registry.FINETUNE


PROFILES = {
    "book": Profile("book", frames=8, crop=64, short_side=80, epochs=8, batch_size=8, optimizer="adamw", lr=1e-3,
                    prompt_lr=0.03, milestones=(), flip=False, weights="book",
                    synthetic=SynthConfig(seed=0, classes=8, clips_per_class=50, frames=9, size=80,
                                          distractors=nuisance("heavy")),
                    recipes=FINETUNE),
    # decoding video in the training process would starve a GPU: decode in parallel workers
    "full": Profile("full", frames=8, crop=224, short_side=256, epochs=25, batch_size=8, optimizer="sgd", lr=0.005,
                    prompt_lr=None, milestones=(11, 14), flip=True, weights="kinetics", synthetic=None,
                    workers=min(8, os.cpu_count() or 1)),
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

    def subset(self, num_classes: int | None = None, per_class: int | None = None, seed: int = 0) -> Splits:
        """The same K classes in every split (chosen from ``seed``), N training clips of each; all
        their validation and test clips."""
        return Splits(self.train.subset(num_classes, per_class, seed), self.val.subset(num_classes, None, seed),
                      self.test.subset(num_classes, None, seed), self.root)


#: Fields added to :class:`SynthConfig` after benchmarks were first cached: left out of the key at
#: their defaults, so an older configuration keeps its key and its cached copy.
_LATER_FIELDS = {"split_clips": None, "shortcut": "none", "shortcut_rho": 0.9}


def synthetic_key(config: SynthConfig) -> str:
    """A short name for a synthetic configuration: its clips are fully determined by it."""
    fields = asdict(config)
    for name, default in _LATER_FIELDS.items():
        if fields[name] == default:
            del fields[name]
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:12]


def generated(config: SynthConfig, root: str | os.PathLike | None = None) -> Path:
    """The synthetic benchmark of ``config`` in ``root``, generated only if it is not there yet.

    By default it goes to ``$VMP_DATA`` (else ``~/.cache/vmp``) under a name made from the
    configuration, so chapters and tests that ask for the same benchmark share one copy.
    """
    key = synthetic_key(config)
    root = Path(root) if root is not None else resolve_cache_dir() / f"synthetic-{key}"
    manifest = root / "synth.json"
    if manifest.is_file() and json.loads(manifest.read_text()).get("key") == key:
        return root
    generate(root, config)
    manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "key": key}, indent=2) + "\n")
    return root


def load_splits(profile: Profile, layout: str | BackboneSpec = "BCTHW",
                root: str | os.PathLike | None = None) -> Splits:
    """The three splits of the profile's data as a backbone reads them: ``layout`` is its spec
    (``SPECS[name]``: its layout and normalisation), or a bare layout (``"BTCHW"`` for
    TimeSformer) with the Kinetics normalisation.

    ``book`` generates the synthetic benchmark into ``root`` (by default a cache folder shared by
    every chapter, see :func:`generated`) and keeps its decoded frames in memory; ``full`` downloads
    the UCF101 subset (needs a network).
    """
    if profile.synthetic is not None:
        root = generated(profile.synthetic, root)
    else:
        from vmp.data.download import ucf101_subset

        root = ucf101_subset(root)
    small = profile.synthetic is not None
    spec = layout if isinstance(layout, BackboneSpec) else BackboneSpec(layout, profile.frames, profile.crop)

    def split(name: str) -> ClipDataset:
        training = name == "train"
        transform = ClipTransform.for_backbone(spec, size=profile.crop, short_side=profile.short_side,
                                               train=training, flip=profile.flip and training)
        return VideoFolder(root, name, frames=profile.frames + 1, mode="random" if training else "center",
                           transform=transform, cache=small)

    return Splits(split("train"), split("val"), split("test"), Path(root))


#: Each book backbone's paper-scale counterpart in the full profile, with the clip it is built for
#: (each backbone's ``full_scale`` in :data:`vmp.models.registry.REGISTRY`).
FULL_SCALE = registry.FULL_SCALE


#: In the book profile, single runs are checked against guessing on a draw of their own: the
#: benchmark's generator with this seed (no run trains, chooses or tests on it), this many clips a class.
GUESSING_SEED, GUESSING_CLIPS = 11, 50


class FineTuneSetting(NamedTuple):
    """What chapters 7-9 fine-tune: one backbone, its profile and its data (``book_backbone``: the
    book profile's backbone the records are kept under)."""

    backbone: str
    profile: Profile
    splits: Splits
    book_backbone: str

    def recorded_seeds(self, path: str | os.PathLike = "../benchmarks/results/finetune.json") -> dict:
        """The book's recorded seeds of this backbone's recipe, as ``benchmarks/finetune.py`` wrote them
        (the default path is the one a chapter sees from ``book/``)."""
        records = json.loads(Path(path).read_text())
        if self.book_backbone not in records:
            raise KeyError(f"{path}: no records of {self.book_backbone!r}; it holds {sorted(records)}")
        return {**records[self.book_backbone], "backbone": self.book_backbone}

    @property
    def layout(self) -> str:
        return SPECS[self.backbone].layout

    def guessing_set(self) -> ClipDataset | None:
        """Clips to check one run against guessing on: in the book profile a fresh draw of the same
        classes (:data:`GUESSING_CLIPS` each), because 60 test clips leave a weak backbone's single run
        a clip or two from the threshold; None in the full profile, whose test split is large."""
        if self.profile.synthetic is None:
            return None
        config = dataclasses.replace(self.profile.synthetic, seed=GUESSING_SEED, split_clips=(1, 1, GUESSING_CLIPS))
        fresh = load_splits(dataclasses.replace(self.profile, synthetic=config), SPECS[self.backbone])
        test = fresh.test.subset(len(self.splits.test.classes), None, seed=0)
        if list(test.classes) != list(self.splits.test.classes):
            raise ValueError(f"the fresh draw's classes {test.classes} differ from the setting's "
                             f"{self.splits.test.classes}")
        return test

    def describe(self) -> str:
        """The setting in a few lines: checkpoint, classes, clips and recipe."""
        from vmp.weights import read_manifest

        recipe = self.profile.train_config(backbone=self.backbone)
        lines = []
        if self.profile.weights == "book":
            checkpoint = read_manifest()[self.backbone]
            lines.append(f"book checkpoint {checkpoint['file']}: {checkpoint['model_args']}; pretrained from frames "
                         f"on the source task for {checkpoint['recipe']['epochs']} epochs, source test top-1 "
                         f"{checkpoint['source_top1']:.1%}")
        train, val, test = self.splits.train, self.splits.val, self.splits.test
        lines += [f"classes: {train.classes}",
                  f"{len(train)} training, {len(val)} validation, {len(test)} test clips; {self.profile.frames}+1 "
                  f"frames at {self.profile.crop} px; weights: {self.profile.weights}",
                  f"recipe: {recipe.optimizer}, lr {recipe.lr} (the layer's {recipe.prompt_lr or recipe.lr}), "
                  f"{recipe.warmup_epochs} warm-up epoch(s), {recipe.schedule} schedule, {recipe.epochs} epochs, "
                  f"weight decay {recipe.weight_decay}, gradient clipping {recipe.clip_grad_norm}"]
        return "\n".join(lines)


def fine_tune_setting(
    backbone: str, profile_name: str = "book", classes: int = 6, per_class: int = 30
) -> FineTuneSetting:
    """The setting of chapters 7-9 for ``backbone``: in the book profile, ``classes`` classes of the
    benchmark with ``per_class`` training clips each; in the full profile, the paper-scale model
    and clip on the UCF101 subset."""
    if backbone not in FULL_SCALE:
        raise ValueError(f"unknown backbone {backbone!r}; choose one of {sorted(FULL_SCALE)}")
    if profile_name == "book":
        profile = get_profile("book")
        splits = load_splits(profile, SPECS[backbone]).subset(classes, per_class, seed=0)
        return FineTuneSetting(backbone, profile, splits, backbone)
    full_backbone, changes = FULL_SCALE[backbone]
    profile = get_profile(profile_name, **changes)
    return FineTuneSetting(full_backbone, profile, load_splits(profile, SPECS[full_backbone]), backbone)


class Run(NamedTuple):
    """One training run: the model, its history, its test metrics, and the layer's parameters at
    start: (slope, shift) for the sigmoid, (γ or η,) for a PN function."""

    model: PromptedModel
    history: list[dict]
    test: dict
    initial: tuple[float, ...] | None


def train_and_test(
    backbone: str, profile: Profile, splits: Splits, input: str = "vmp", seed: int = 0, tav_weight: float = 0.0,
    prompt_init: tuple[float, float] | str | None = None, learn_prompt: bool = True,
    out: str | os.PathLike | None = None, train_changes: dict | None = None, prompt_function: str = "sigmoid",
    early_stopping: EarlyStopping | None = None, **backbone_options,
) -> Run:
    """Build ``backbone`` behind the input stage, train it with the profile's schedule and the
    backbone's recipe (``train_changes`` override any of its fields), test it.

    ``prompt_init`` is the layer's starting (m, n): by default :data:`vmp.prompt.DEFAULT_START`;
    ``"paper"`` draws them from N(1e-5, 1) as the authors do. ``learn_prompt=False`` freezes the
    layer's slope and shift. ``prompt_function`` swaps the sigmoid for a power normalisation
    (:mod:`vmp.attention`, started at its ``start`` value). The seed fixes the new head's weights
    (and, without pretrained weights, the backbone's), the paper's draw of (m, n) and the batch order.
    With ``early_stopping`` (:class:`vmp.train.EarlyStopping`) the run stops when validation stops
    rising and is tested with its best validation epoch's weights.
    """
    if backbone not in SPECS:
        raise ValueError(f"unknown backbone {backbone!r}; choose one of {sorted(SPECS)}")
    if prompt_init is None and prompt_function == "sigmoid":
        prompt_init = m_n_for(*DEFAULT_START)
    seed_everything(seed)
    model = build_model(backbone, len(splits.train.classes), profile.frames, profile.crop, input=input,
                        weights=profile.weights, prompt_init=None if prompt_init == "paper" else prompt_init,
                        prompt_function=prompt_function, **backbone_options)
    initial = None
    if model.prompt is not None:
        initial = tuple(model.prompt.learned().values())
        model.prompt.requires_grad_(learn_prompt)
    config = profile.train_config(seed, tav_weight, backbone, **(train_changes or {}))
    history = fit(model, splits.train, splits.val, config, out=out, early_stopping=early_stopping)
    return Run(model, history, evaluate(model, splits.test), initial)


def compare_inputs(
    backbone: str,
    profile: Profile,
    splits: Splits,
    inputs: tuple[str, ...] = ("frames", "difference", "vmp"),
    seed: int = 0,
    **options,
) -> dict[str, Run]:
    """One :func:`train_and_test` run per input stage, all else equal: the chapters' comparison."""
    return {input: train_and_test(backbone, profile, splits, input=input, seed=seed, **options) for input in inputs}
