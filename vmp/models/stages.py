"""Input stages: what a backbone sees of a clip of T+1 frames, each a small module in a registry.

Every stage takes the same T+1 normalised frames and gives T, so a comparison differs only in
the stage; it returns ``(shown, attention)``, ``attention`` being None unless the stage has maps:

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

A new stage is a class (or function) taking :class:`StageSettings` and returning such a module,
added to :data:`INPUT_STAGES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from vmp.layout import from_canonical, to_canonical
from vmp.models.backbones import widen_input_channels
from vmp.normalisation import KINETICS
from vmp.prompt import MotionPrompt, gray_differences, luma, luma_per_unit


@dataclass(frozen=True)
class StageSettings:
    """Everything a stage may read: the clip's layout and normalisation, and the stages' options."""

    layout: str = "BCTHW"
    mean: Sequence[float] = KINETICS.mean
    std: Sequence[float] = KINETICS.std
    channels: str = "RGB"
    prompt_init: tuple[float, float] | None = None  # the VMP layer's starting (m, n); None: drawn
    prompt_function: str = "sigmoid"
    prompt_parameter: float | None = None
    gate: float = 0.1


class FixedStage(nn.Module):
    """A stage without parameters: :meth:`shown` of the clip's ``BCTHW`` view, in the clip's layout."""

    def __init__(self, settings: StageSettings) -> None:
        super().__init__()
        self.layout = settings.layout

    def shown(self, frames: torch.Tensor) -> torch.Tensor:
        """T frames from the T+1 of a ``BCTHW`` view."""
        raise NotImplementedError

    def adapt(self, backbone: nn.Module) -> None:
        """Change the backbone to take what this stage shows (most stages need nothing)."""

    def forward(self, clip: torch.Tensor) -> tuple[torch.Tensor, None]:
        return from_canonical(self.shown(to_canonical(clip, self.layout)), self.layout), None


class Frames(FixedStage):
    """Frames 1..T as they are: the baseline."""

    def shown(self, frames: torch.Tensor) -> torch.Tensor:
        return frames[:, :, 1:]


class Difference(FixedStage):
    """``F_t - F_{t-1}`` per channel: the fixed ablation."""

    def shown(self, frames: torch.Tensor) -> torch.Tensor:
        return frames[:, :, 1:] - frames[:, :, :-1]


class Gated(FixedStage):
    """Differences kept only where the gray change ``|D_t|`` (pixel units) exceeds ``gate``."""

    def __init__(self, settings: StageSettings) -> None:
        super().__init__(settings)
        self.gate = settings.gate
        self.luma_per_unit = luma_per_unit(settings.std, settings.channels)  # gray change per unit of input

    def shown(self, frames: torch.Tensor) -> torch.Tensor:
        difference = frames[:, :, 1:] - frames[:, :, :-1]
        return difference * (luma(difference, self.luma_per_unit).abs() > self.gate).unsqueeze(1)

    def extra_repr(self) -> str:
        return f"gate={self.gate}"


class GrayDifference(FixedStage):
    """The gray difference (BT.601 weights on the normalised differences), repeated over 3 channels."""

    def __init__(self, settings: StageSettings) -> None:
        super().__init__(settings)
        self.luma_weights = luma_per_unit((1.0, 1.0, 1.0), settings.channels)  # BT.601 in the clip's order

    def shown(self, frames: torch.Tensor) -> torch.Tensor:
        difference = frames[:, :, 1:] - frames[:, :, :-1]
        return luma(difference, self.luma_weights).unsqueeze(1).expand(-1, 3, -1, -1, -1)


class DifferenceFrames(FixedStage):
    """``D_t * F_t``: each frame weighted by its signed gray change, no attention function."""

    def __init__(self, settings: StageSettings) -> None:
        super().__init__(settings)
        self.luma_per_unit = luma_per_unit(settings.std, settings.channels)

    def shown(self, frames: torch.Tensor) -> torch.Tensor:
        return frames[:, :, 1:] * gray_differences(frames, self.luma_per_unit).unsqueeze(1)


class Stacked(FixedStage):
    """Frames and RGB differences as 6 channels; the backbone's stem is widened to take them."""

    def shown(self, frames: torch.Tensor) -> torch.Tensor:
        return torch.cat([frames[:, :, 1:], frames[:, :, 1:] - frames[:, :, :-1]], dim=1)

    def adapt(self, backbone: nn.Module) -> None:
        widen_input_channels(backbone, 3)


def motion_prompt(settings: StageSettings) -> MotionPrompt:
    """The VMP layer, in the clip's layout and normalisation."""
    m, n = settings.prompt_init if settings.prompt_init is not None else (None, None)
    return MotionPrompt(settings.layout, settings.mean, settings.std, settings.channels, m, n,
                        settings.prompt_function, settings.prompt_parameter)


#: Every input stage by the name ``build_model(input=...)`` takes.
INPUT_STAGES: dict[str, Callable[[StageSettings], nn.Module]] = {
    "vmp": motion_prompt,
    "frames": Frames,
    "difference": Difference,
    "gated": Gated,
    "gray_difference": GrayDifference,
    "difference_frames": DifferenceFrames,
    "stacked": Stacked,
}
