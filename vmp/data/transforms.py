"""Spatial transforms of a decoded clip, on top of ``torchvision.transforms.v2``.

A clip comes from :func:`vmp.data.read_frames` as ``uint8 (T, H, W, 3)`` and leaves as a normalised
float tensor in the layout a backbone wants, without the batch axis: ``(C, T, H, W)`` for ``BCTHW``
models (SlowFast, X3D), ``(T, C, H, W)`` for ``BTCHW`` (TimeSformer). One random crop and one flip
decision apply to every frame of the clip, so the motion between frames is untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

import torch
from torchvision import tv_tensors
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from vmp.layout import check_layout
from vmp.normalisation import KINETICS

#: The default normalisation (:data:`vmp.normalisation.KINETICS`); a backbone's own comes from its spec.
KINETICS_MEAN, KINETICS_STD = KINETICS


class BackboneSpecLike(Protocol):
    """What a transform reads from a backbone's spec (:class:`vmp.models.BackboneSpec`)."""

    layout: str
    mean: Sequence[float]
    std: Sequence[float]


def three_crop(clip: torch.Tensor, size: int) -> list[torch.Tensor]:
    """Three ``size`` x ``size`` crops along the long side of ``(..., H, W)``: start, centre, end."""
    height, width = clip.shape[-2:]
    if min(height, width) < size:
        raise ValueError(f"clip of size {height}x{width} is smaller than the crop {size}")
    if width >= height:
        top = (height - size) // 2
        lefts = (0, (width - size) // 2, width - size)
        return [TF.crop(clip, top, left, size, size) for left in lefts]
    left = (width - size) // 2
    tops = (0, (height - size) // 2, height - size)
    return [TF.crop(clip, top, left, size, size) for top in tops]


@dataclass
class ClipTransform:
    """Resize the short side, crop, maybe flip, normalise, and lay the clip out for a backbone.

    ``train=True``: random crop and (if ``flip``) random horizontal flip. ``train=False``: centre
    crop, or three crops along the long side with ``spatial_views=3`` (stacked on a new first axis).
    Flipping mirrors motion: turn it off when the direction of motion is the label.
    """

    size: int = 224
    short_side: int | None = None
    train: bool = True
    flip: bool = True
    spatial_views: int = 1
    mean: Sequence[float] = KINETICS_MEAN
    std: Sequence[float] = KINETICS_STD
    layout: str = "BCTHW"

    def __post_init__(self) -> None:
        self.layout = check_layout(self.layout)
        if self.spatial_views not in (1, 3):
            raise ValueError(f"spatial_views must be 1 or 3, got {self.spatial_views}")
        if self.train and self.spatial_views != 1:
            raise ValueError("several spatial views are for evaluation; use train=False")
        short_side = self.short_side or round(self.size * 256 / 224)
        if short_side < self.size:
            raise ValueError(f"short_side {short_side} is smaller than the crop size {self.size}")
        self.resize = v2.Resize(short_side, antialias=True)
        random_part = [v2.RandomCrop(self.size)] + ([v2.RandomHorizontalFlip()] if self.flip else [])
        self.augment = v2.Compose(random_part) if self.train else None
        self.normalize = v2.Compose([v2.ToDtype(torch.float32, scale=True), v2.Normalize(self.mean, self.std)])

    @classmethod
    def for_backbone(cls, spec: BackboneSpecLike, **options) -> ClipTransform:
        """The transform a backbone reads: its spec's layout and normalisation (see
        :data:`vmp.models.SPECS`), with any other field in ``options``."""
        return cls(**options, layout=spec.layout, mean=spec.mean, std=spec.std)

    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        if frames.dim() != 4 or frames.shape[-1] != 3:
            raise ValueError(f"frames must be (T, H, W, 3), got shape {tuple(frames.shape)}")
        video = tv_tensors.Video(frames.permute(0, 3, 1, 2))  # (T, C, H, W)
        video = self.resize(video)
        if self.train:
            crops = [self.augment(video)]
        elif self.spatial_views == 3:
            crops = three_crop(video, self.size)
        else:
            crops = [TF.center_crop(video, [self.size, self.size])]
        clips = [self._arrange(self.normalize(crop)) for crop in crops]
        return clips[0] if len(clips) == 1 else torch.stack(clips)

    def _arrange(self, clip: torch.Tensor) -> torch.Tensor:
        """(T, C, H, W) -> the backbone's layout without its batch axis, as a plain contiguous tensor."""
        sample_layout = self.layout.replace("B", "")
        order = [ "TCHW".index(axis) for axis in sample_layout]
        return clip.as_subclass(torch.Tensor).permute(order).contiguous()
