"""A backbone behind an input stage: motion prompts, plain frames, or fixed frame differences.

All three take the same T+1 frames, so a comparison differs only in the stage:

- ``"vmp"``: :class:`vmp.MotionPrompt`, T prompts ``A_t * F_t`` and the attention for the TAV term;
- ``"frames"``: the baseline, frames 1..T as they are;
- ``"difference"``: the fixed ablation, ``F_t - F_{t-1}`` per channel, no parameters;
- ``"gated"``: those differences kept only where the gray change ``|D_t|`` exceeds a fixed,
  hand-picked threshold ``gate`` (in [0, 1] pixel units): a hard, symmetric, frozen attention;
- ``"gray_difference"``: the layer's own signal, the gray difference (BT.601 weights on the
  normalised differences) repeated over the 3 channels;
- ``"difference_frames"``: ``D_t * F_t``, the frame weighted by its signed gray change (pixel
  units) with no sigmoid: the layer without its attention function;
- ``"stacked"``: frames and RGB differences as 6 channels; the backbone's stem is widened
  (:func:`vmp.models.backbones.widen_input_channels`), its new weights starting at zero.

For SlowFast the stage's T frames feed the fast pathway and every 4th of them the slow one.
"""

from __future__ import annotations

import os
from typing import NamedTuple, Sequence

import torch
from torch import nn

from vmp.layout import check_layout, from_canonical, to_canonical
from vmp.models.backbones import (
    SLOWFAST_ALPHA,
    SPECS,
    ModelConfigError,
    architecture_options,
    build_backbone,
    widen_input_channels,
)
from vmp.prompt import MotionPrompt, gray_differences, luma, luma_per_unit
from vmp.weights import book_checkpoint, load_book_weights

INPUTS = ("vmp", "frames", "difference", "gated", "gray_difference", "difference_frames", "stacked")


class ModelOutput(NamedTuple):
    """Class scores, and the attention maps when the input stage is a VMP layer (else None)."""

    logits: torch.Tensor
    attention: torch.Tensor | None


def slowfast_pathways(frames: torch.Tensor, alpha: int = SLOWFAST_ALPHA) -> list[torch.Tensor]:
    """``[slow, fast]`` from a ``BCTHW`` clip: fast is the clip, slow takes T/alpha evenly spaced frames."""
    count = frames.shape[2]
    slow = frames.index_select(2, torch.linspace(0, count - 1, count // alpha, device=frames.device).long())
    return [slow, frames]


class PromptedModel(nn.Module):
    """``backbone(stage(clip))`` for clips of ``frames + 1`` frames in ``layout``."""

    def __init__(
        self,
        backbone: nn.Module,
        frames: int,
        num_classes: int,
        layout: str = "BCTHW",
        input: str = "vmp",
        slowfast: bool = False,
        mean: Sequence[float] = (0.45, 0.45, 0.45),
        std: Sequence[float] = (0.225, 0.225, 0.225),
        channels: str = "RGB",
        prompt_init: tuple[float, float] | None = None,
        gate: float = 0.1,
        prompt_function: str = "sigmoid",
        prompt_parameter: float | None = None,
    ) -> None:
        super().__init__()
        if input not in INPUTS:
            raise ModelConfigError(f"input must be one of {INPUTS}, got {input!r}")
        self.backbone, self.frames, self.num_classes = backbone, frames, num_classes
        self.layout, self.input, self.slowfast = check_layout(layout), input, slowfast
        m, n = prompt_init if prompt_init is not None else (None, None)
        self.prompt = MotionPrompt(layout, mean, std, channels, m, n, prompt_function, prompt_parameter) \
            if input == "vmp" else None
        self.luma_per_unit = luma_per_unit(std, channels)  # gray change per unit of input
        self.luma_weights = luma_per_unit((1.0, 1.0, 1.0), channels)  # BT.601 in the clip's channel order
        self.gate = gate
        if input == "stacked":
            widen_input_channels(backbone, 3)

    def stage(self, clip: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The T frames the backbone sees, and the attention maps if any."""
        if self.prompt is not None:
            return self.prompt(clip)
        frames = to_canonical(clip, self.layout)
        if self.input == "frames":
            return from_canonical(frames[:, :, 1:], self.layout), None
        if self.input == "difference_frames":
            shown = frames[:, :, 1:] * gray_differences(frames, self.luma_per_unit).unsqueeze(1)
            return from_canonical(shown, self.layout), None
        shown = frames[:, :, 1:] - frames[:, :, :-1]
        if self.input == "gated":
            shown = shown * (luma(shown, self.luma_per_unit).abs() > self.gate).unsqueeze(1)
        elif self.input == "gray_difference":
            shown = luma(shown, self.luma_weights).unsqueeze(1).expand(-1, 3, -1, -1, -1)
        elif self.input == "stacked":
            shown = torch.cat([frames[:, :, 1:], shown], dim=1)
        return from_canonical(shown, self.layout), None

    def forward(self, clip: torch.Tensor) -> ModelOutput:
        time_axis = self.layout.index("T")
        if clip.dim() != 5 or clip.shape[time_axis] != self.frames + 1:
            raise ValueError(
                f"expected a 5-D {self.layout} clip with {self.frames + 1} frames (T+1) on axis {time_axis}, "
                f"got shape {tuple(clip.shape)}"
            )
        shown, attention = self.stage(clip)
        inputs = slowfast_pathways(to_canonical(shown, self.layout)) if self.slowfast else shown
        output = self.backbone(inputs) if self.layout != "BTCHW" or self.slowfast else self.backbone(pixel_values=shown)
        logits = output.logits if hasattr(output, "logits") else output
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
    """A named backbone (see :data:`vmp.models.SPECS`) behind the chosen input stage.

    ``frames`` is T, what the backbone sees; the model takes T+1. Defaults are the backbone's
    standard clip and crop. ``prompt_init`` fixes the layer's initial (m, n) (see
    :func:`vmp.prompt.m_n_for`); by default they are drawn as the paper does. ``prompt_function``
    swaps the sigmoid for a power normalisation of :mod:`vmp.attention`, started at ``prompt_parameter``.
    ``weights="book"`` loads the book's pretrained checkpoint (:mod:`vmp.weights`), checked against
    its manifest, with a new head; ``backbone_options`` may then be left out; ``checkpoints`` names
    another folder of book checkpoints (a different source task's, say). The model's
    ``rebuild_args`` are the arguments that rebuild its architecture with ``weights=None``.
    """
    if name not in SPECS:
        raise ModelConfigError(f"unknown model {name!r}; choose one of {sorted(SPECS)}")
    spec = SPECS[name]
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
    stage = {"prompt_function": prompt_function, **({"gate": gate} if gate is not None else {})}
    model = PromptedModel(backbone, frames, num_classes, spec.layout, input, spec.slowfast, spec.mean, spec.std,
                          prompt_init=prompt_init, prompt_parameter=prompt_parameter, **stage)
    # what rebuilds this architecture without downloading anything (checkpoints store it, see load_trained)
    model.rebuild_args = {"name": name, "num_classes": num_classes, "frames": frames, "crop": crop, "input": input,
                          **stage, **backbone_options, **architecture_options(name, backbone)}
    return model
