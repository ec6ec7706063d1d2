"""How clips are normalised: a per-channel mean and std of [0, 1] pixels.

Every Kinetics backbone the book uses (pytorchvideo's SlowFast and X3D, and the authors'
TimeSformer code) normalises with :data:`KINETICS`; it is typed here once and read by the
backbones' specs, the clip transform, the VMP layer's defaults and the figures.
"""

from __future__ import annotations

from typing import NamedTuple


class Normalisation(NamedTuple):
    """Per-channel mean and std: a normalised value is ``(pixel - mean) / std``."""

    mean: tuple[float, float, float]
    std: tuple[float, float, float]


#: The normalisation of pytorchvideo's Kinetics models, also used by the authors' TimeSformer code.
KINETICS = Normalisation((0.45, 0.45, 0.45), (0.225, 0.225, 0.225))
