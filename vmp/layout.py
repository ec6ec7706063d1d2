"""Clip layouts: names such as ``"BCTHW"`` and the permutations between them.

A layout names the five axes of a clip tensor: Batch, Channel, Time, Height, Width.
SlowFast and X3D want ``BCTHW``; TimeSformer wants ``BTCHW``. The VMP layer computes in
``BCTHW`` internally through a *view*, so no layout ever costs a copy.
"""

from __future__ import annotations

import torch

CANONICAL = "BCTHW"


def check_layout(layout: str) -> str:
    """Return ``layout`` upper-cased, or raise ``ValueError`` if it is not a permutation of BCTHW."""
    if not isinstance(layout, str):
        raise ValueError(f"layout must be a string such as 'BCTHW', got {type(layout).__name__}")
    upper = layout.upper()
    if len(upper) != 5 or sorted(upper) != sorted(CANONICAL):
        raise ValueError(
            f"layout {layout!r} is not a permutation of 'BCTHW' "
            "(five letters, each of B, C, T, H, W exactly once)"
        )
    return upper


def to_canonical(clip: torch.Tensor, layout: str) -> torch.Tensor:
    """View a clip stored in ``layout`` as ``BCTHW`` (a permuted view, never a copy)."""
    return clip.permute(*(layout.index(axis) for axis in CANONICAL))


def from_canonical(clip: torch.Tensor, layout: str) -> torch.Tensor:
    """View a ``BCTHW`` clip in ``layout`` (the inverse of :func:`to_canonical`)."""
    return clip.permute(*(CANONICAL.index(axis) for axis in layout))
