"""Backbones with a motion prompt layer in front: SlowFast, X3D, TimeSformer and a small CPU 3D CNN."""

from vmp.models.adapter import INPUTS, ModelOutput, PromptedModel, build_model, slowfast_pathways, with_motion_prompt
from vmp.models.backbones import (
    SPECS,
    BackboneSpec,
    ModelConfigError,
    NetworkUnavailableError,
    Tiny3D,
    build_backbone,
    load_backbone_weights,
)

__all__ = [
    "INPUTS", "SPECS", "BackboneSpec", "ModelConfigError", "ModelOutput", "NetworkUnavailableError",
    "PromptedModel", "Tiny3D", "build_backbone", "build_model", "load_backbone_weights", "slowfast_pathways",
    "with_motion_prompt",
]
