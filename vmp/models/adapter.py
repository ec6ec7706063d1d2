"""A backbone behind an input stage (:mod:`vmp.models.stages`): motion prompts, plain frames, or
fixed frame differences, all from the same T+1 frames, so a comparison differs only in the stage.

The backbone is any module from a clip (T frames, in the model's layout) to logits; every builder of
:mod:`vmp.models.backbones` returns one (SlowFast splits its pathways itself, Hugging Face's
TimeSformer is wrapped once). :func:`build_model` builds a registered backbone by name
(:mod:`vmp.models.registry`); :func:`with_motion_prompt` puts a stage in front of any module.
"""

from __future__ import annotations

import os
from typing import NamedTuple, Sequence

import torch
from torch import nn

from vmp.layout import check_layout
from vmp.models.backbones import ModelConfigError, build_backbone, slowfast_pathways
from vmp.models.registry import backbone_entry
from vmp.models.stages import INPUT_STAGES, StageSettings
from vmp.normalisation import KINETICS
from vmp.prompt import MotionPrompt
from vmp.weights import book_checkpoint, load_book_weights

#: The input stages :func:`build_model` takes (see :data:`vmp.models.stages.INPUT_STAGES`).
INPUTS = tuple(INPUT_STAGES)

__all__ = ["INPUTS", "ModelOutput", "PromptedModel", "build_model", "slowfast_pathways", "with_motion_prompt"]


class ModelOutput(NamedTuple):
    """Class scores, and the attention maps when the input stage is a VMP layer (else None)."""

    logits: torch.Tensor
    attention: torch.Tensor | None


class PromptedModel(nn.Module):
    """``backbone(stage(clip))`` for clips of ``frames + 1`` frames in ``layout``.

    The stage is ``INPUT_STAGES[input]`` (:mod:`vmp.models.stages`): the VMP layer is kept as
    ``prompt`` (its parameters are ``prompt.m`` and ``prompt.n``), any other stage as ``input_stage``
    (``prompt`` is then None). ``built_from`` holds the :func:`build_model` arguments that rebuild the
    backbone (name, clip, options); a model built by name carries them, so its checkpoints say how
    to rebuild it (:attr:`rebuild_args`).
    """

    def __init__(
        self,
        backbone: nn.Module,
        frames: int,
        num_classes: int,
        layout: str = "BCTHW",
        input: str = "vmp",
        *,
        mean: Sequence[float] = KINETICS.mean,
        std: Sequence[float] = KINETICS.std,
        channels: str = "RGB",
        prompt_init: tuple[float, float] | None = None,
        gate: float = 0.1,
        prompt_function: str = "sigmoid",
        prompt_parameter: float | None = None,
        built_from: dict | None = None,
    ) -> None:
        super().__init__()
        if input not in INPUT_STAGES:
            raise ModelConfigError(f"input must be one of {tuple(INPUT_STAGES)}, got {input!r}")
        self.backbone, self.frames, self.num_classes = backbone, frames, num_classes
        self.layout, self.input = check_layout(layout), input
        settings = StageSettings(self.layout, mean, std, channels, prompt_init, prompt_function, prompt_parameter, gate)
        stage = INPUT_STAGES[input](settings)
        self.prompt = stage if isinstance(stage, MotionPrompt) else None
        self.input_stage = None if isinstance(stage, MotionPrompt) else stage
        adapt = getattr(stage, "adapt", None)
        if adapt is not None:
            adapt(backbone)
        self.stage_options = {"prompt_function": prompt_function, "gate": gate}
        self.built_from = dict(built_from) if built_from is not None else None

    @property
    def rebuild_args(self) -> dict:
        """The :func:`build_model` arguments that rebuild this architecture with ``weights=None``
        (what a checkpoint stores, see :func:`vmp.train.load_trained`)."""
        if self.built_from is None:
            raise ModelConfigError("this model was put together around a given backbone (with_motion_prompt), "
                                   "so only its own code can rebuild it; build_model builds one that can say how")
        return {**self.built_from, "num_classes": self.num_classes, "input": self.input, **self.stage_options}

    def stage(self, clip: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The T frames the backbone sees, and the attention maps if any."""
        return (self.prompt if self.prompt is not None else self.input_stage)(clip)

    def forward(self, clip: torch.Tensor) -> ModelOutput:
        time_axis = self.layout.index("T")
        if clip.dim() != 5 or clip.shape[time_axis] != self.frames + 1:
            raise ValueError(
                f"expected a 5-D {self.layout} clip with {self.frames + 1} frames (T+1) on axis {time_axis}, "
                f"got shape {tuple(clip.shape)}"
            )
        shown, attention = self.stage(clip)
        logits = self.backbone(shown)
        if not isinstance(logits, torch.Tensor):
            raise TypeError(f"the backbone {type(self.backbone).__name__} returned {type(logits).__name__}, not a "
                            "logits tensor: a backbone maps a clip to logits (wrap a Hugging Face model as "
                            "vmp.models.timesformer.TimesformerClassifier does)")
        return ModelOutput(logits, attention)


def with_motion_prompt(
    backbone: nn.Module, frames: int, num_classes: int, layout: str = "BCTHW", input: str = "vmp", **options
) -> PromptedModel:
    """Put a VMP layer (or, with ``input``, the baseline or the ablation) in front of ``backbone``."""
    return PromptedModel(backbone, frames, num_classes, layout, input, **options)


def build_model(
    name: str, num_classes: int, frames: int | None = None, crop: int | None = None, input: str = "vmp",
    weights: str | None = None, prompt_init: tuple[float, float] | None = None, gate: float | None = None,
    prompt_function: str = "sigmoid", prompt_parameter: float | None = None,
    checkpoints: str | os.PathLike | None = None, **backbone_options,
) -> PromptedModel:
    """A registered backbone (:data:`vmp.models.registry.REGISTRY`) behind the input stage ``input``.

    ``frames`` is T, what the backbone sees; the model takes T+1. Defaults are the backbone's
    standard clip and crop. ``prompt_init`` fixes the layer's initial (m, n) (see
    :func:`vmp.prompt.m_n_for`); by default they are drawn as the paper does. ``prompt_function``
    swaps the sigmoid for a power normalisation of :mod:`vmp.attention`, started at ``prompt_parameter``.
    ``weights="book"`` loads the book's pretrained checkpoint (:mod:`vmp.weights`), checked against
    its manifest, with a new head; ``backbone_options`` may then be left out; ``checkpoints`` names
    another folder of book checkpoints (a different source task's, say). The model carries the
    arguments that rebuild its architecture with ``weights=None`` (:attr:`PromptedModel.rebuild_args`).
    """
    spec = backbone_entry(name).spec
    frames, crop = frames or spec.frames, crop or spec.crop
    if checkpoints is not None and weights != "book":
        raise ModelConfigError(
            f"checkpoints={str(checkpoints)!r} is read only with weights='book', not weights={weights!r}"
        )
    if weights == "book":
        path, backbone_options = book_checkpoint(name, frames, crop, backbone_options, checkpoints)
        backbone = build_backbone(name, num_classes, frames, crop, None, **backbone_options)
        load_book_weights(backbone, path)
    else:
        backbone = build_backbone(name, num_classes, frames, crop, weights, **backbone_options)
    architecture = backbone_entry(name).architecture
    # what rebuilds this backbone without downloading anything (checkpoints store it, see load_trained)
    built_from = {"name": name, "frames": frames, "crop": crop, **backbone_options,
                  **(architecture(backbone) if architecture is not None else {})}
    return PromptedModel(backbone, frames, num_classes, spec.layout, input, mean=spec.mean, std=spec.std,
                         prompt_init=prompt_init, prompt_parameter=prompt_parameter, prompt_function=prompt_function,
                         built_from=built_from, **({"gate": gate} if gate is not None else {}))
