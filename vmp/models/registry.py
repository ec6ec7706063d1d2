"""The backbones the package knows: one :class:`Backbone` entry each, read by every consumer.

An entry holds everything about one backbone: its spec (layout, standard clip, normalisation),
its builder (a module from a clip tensor to logits), which pretrained weights its builder can
fetch, and, for the book's backbones, how the book pretrains its small version (:mod:`vmp.pretrain`),
how chapters fine-tune it (:mod:`vmp.experiment`), its paper-scale counterpart in the full profile,
and the name the book gives it. The mappings the rest of the package reads (:data:`SPECS`,
:data:`BUILDERS`, :data:`RECIPES`, :data:`FINETUNE`, :data:`FULL_SCALE`, :data:`BACKBONE_NAMES`)
are live views of :data:`REGISTRY`, so adding a backbone is adding one entry::

    register_backbone(Backbone("mynet", BackboneSpec("BCTHW", 8, 112), build_mynet))

where ``build_mynet(num_classes, frames, crop, weights, **options)`` returns the module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from vmp.models.backbones import (
    BackboneSpec,
    ModelConfigError,
    build_slowfast_r50,
    build_timesformer,
    build_tiny3d,
    build_x3d,
    timesformer_architecture,
)


@dataclass(frozen=True)
class Recipe:
    """How one backbone is built and pretrained on the book's source task (:mod:`vmp.pretrain`)."""

    model_args: dict = field(default_factory=dict)
    optimizer: str = "adamw"
    lr: float = 3e-3
    epochs: int = 15
    warmup_epochs: int = 1
    weight_decay: float = 1e-4
    clip_grad_norm: float | None = 1.0
    batch_size: int = 16


@dataclass(frozen=True)
class Backbone:
    """One backbone: what it expects, how it is built, and what the book does with it.

    ``build(num_classes, frames, crop, weights, **options)`` returns a module from a clip in
    ``spec.layout`` to logits; ``weights`` reaches it only as None or one of ``pretrained``
    (or, with ``hub``, a Hugging Face hub id or saved folder); local checkpoint files are loaded by
    :func:`vmp.models.build_backbone` afterwards. ``architecture(backbone)`` gives the build options
    that rebuild a pretrained backbone's architecture without its weights (TimeSformer's
    configuration). The last four fields are the book's: None where the book does not use them.
    """

    name: str
    spec: BackboneSpec
    build: Callable[..., nn.Module]
    pretrained: tuple[str, ...] = ()
    hub: bool = False
    architecture: Callable[[nn.Module], dict] | None = None
    title: str | None = None  # the book's name for it, in figures and the playground
    pretraining: Recipe | None = None  # how the book pretrains it (its checkpoint ships in vmp/checkpoints)
    finetune: dict | None = None  # the TrainConfig fields the book profile fine-tunes it with
    full_scale: tuple[str, dict] | None = None  # (paper-scale backbone, full-profile changes)


#: Every backbone by name, in the order the book lists them.
REGISTRY: dict[str, Backbone] = {}


def register_backbone(entry: Backbone, replace: bool = False) -> Backbone:
    """Add ``entry`` to :data:`REGISTRY` (``replace=True`` to redefine a name); returns it."""
    if entry.name in REGISTRY and not replace:
        raise ModelConfigError(f"a backbone named {entry.name!r} is registered already (pass replace=True)")
    REGISTRY[entry.name] = entry
    return entry


def backbone_entry(name: str) -> Backbone:
    """The registered backbone ``name``, or ``ModelConfigError`` naming the choices."""
    if name not in REGISTRY:
        raise ModelConfigError(f"unknown model {name!r}; choose one of {sorted(REGISTRY)}")
    return REGISTRY[name]


class RegistryView(Mapping):
    """One field of every registered backbone that has it (not None), by name: a live, read-only view."""

    def __init__(self, read: Callable[[Backbone], Any], what: str) -> None:
        self._read, self._what = read, what

    def __getitem__(self, name: str) -> Any:
        value = self._read(REGISTRY[name]) if name in REGISTRY else None
        if value is None:
            raise KeyError(name)
        return value

    def __iter__(self) -> Iterator[str]:
        return (name for name, entry in REGISTRY.items() if self._read(entry) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"<{self._what}: {dict(self)!r}>"


#: Each backbone's :class:`BackboneSpec`.
SPECS: Mapping[str, BackboneSpec] = RegistryView(lambda entry: entry.spec, "specs")
#: Each backbone's builder.
BUILDERS: Mapping[str, Callable[..., nn.Module]] = RegistryView(lambda entry: entry.build, "builders")
#: The book's pretraining recipe of each backbone it ships a checkpoint for.
RECIPES: Mapping[str, Recipe] = RegistryView(lambda entry: entry.pretraining, "pretraining recipes")
#: The book profile's fine-tuning recipe of each book backbone.
FINETUNE: Mapping[str, dict] = RegistryView(lambda entry: entry.finetune, "fine-tuning recipes")
#: Each book backbone's paper-scale counterpart in the full profile, with the clip it is built for.
FULL_SCALE: Mapping[str, tuple[str, dict]] = RegistryView(lambda entry: entry.full_scale, "paper-scale counterparts")
#: The book's name for each backbone it fine-tunes.
BACKBONE_NAMES: Mapping[str, str] = RegistryView(
    lambda entry: entry.title if entry.finetune is not None else None, "book names")


# The package's backbones ---------------------------------------------------------------------------
# Fine-tuning recipes (AdamW): the learning rates were chosen on the validation split by
# benchmarks/finetune.py (its results: benchmarks/results/finetune.json); warm-up and clipping were
# fixed before it ran.

register_backbone(Backbone(
    "slowfast_r50", BackboneSpec("BCTHW", 32, 224), build_slowfast_r50, pretrained=("kinetics",), title="SlowFast",
    pretraining=Recipe({"depth": 18, "width": 16}),
    finetune={"lr": 3e-3, "prompt_lr": None, "warmup_epochs": 1, "clip_grad_norm": 1.0},
    full_scale=("slowfast_r50", {"frames": 32}),
))
register_backbone(Backbone(
    "x3d_xs", BackboneSpec("BCTHW", 4, 160), build_x3d("x3d_xs"), pretrained=("kinetics",), title="X3D",
    pretraining=Recipe({"width_factor": 1.0, "depth_factor": 1.0}),
    finetune={"lr": 3e-3, "prompt_lr": 0.03, "warmup_epochs": 1, "clip_grad_norm": 1.0, "epochs": 16},
    full_scale=("x3d_s", {"frames": 13, "crop": 160, "short_side": 182}),
))
register_backbone(Backbone(
    "x3d_s", BackboneSpec("BCTHW", 13, 160), build_x3d("x3d_s"), pretrained=("kinetics",), title="X3D-S",
))
register_backbone(Backbone(
    "x3d_m", BackboneSpec("BCTHW", 16, 224), build_x3d("x3d_m"), pretrained=("kinetics",), title="X3D-M",
))
register_backbone(Backbone(
    "timesformer", BackboneSpec("BTCHW", 8, 224), build_timesformer, pretrained=("kinetics", "kinetics600"),
    hub=True, architecture=timesformer_architecture, title="TimeSformer",
    pretraining=Recipe({"patch_size": 16, "hidden_size": 192, "num_hidden_layers": 4, "num_attention_heads": 3,
                        "intermediate_size": 768}, lr=5e-4, epochs=40, warmup_epochs=2, weight_decay=0.05),
    finetune={"lr": 3e-4, "prompt_lr": 0.03, "warmup_epochs": 1, "clip_grad_norm": 1.0},
    full_scale=("timesformer", {}),
))
register_backbone(Backbone(
    "tiny3d", BackboneSpec("BCTHW", 8, 64), build_tiny3d, title="Tiny3D",
    pretraining=Recipe(),
    finetune={"lr": 3e-3, "prompt_lr": 0.03, "warmup_epochs": 1, "clip_grad_norm": 1.0},
))
