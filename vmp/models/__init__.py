"""Backbones with a motion prompt layer in front: SlowFast, X3D, TimeSformer and a small CPU 3D CNN.

A backbone is one entry of :data:`REGISTRY` (:mod:`vmp.models.registry`); an input stage is one
entry of :data:`INPUT_STAGES` (:mod:`vmp.models.stages`).
"""

from vmp.models.adapter import INPUTS, ModelOutput, PromptedModel, build_model, with_motion_prompt
from vmp.models.backbones import (
    BackboneSpec,
    ModelConfigError,
    NetworkUnavailableError,
    Tiny3D,
    build_backbone,
    load_backbone_weights,
    slowfast_pathways,
)
from vmp.models.registry import (
    BUILDERS,
    REGISTRY,
    SPECS,
    Backbone,
    Recipe,
    backbone_entry,
    register_backbone,
)
from vmp.models.stages import INPUT_STAGES, StageSettings

__all__ = [
    "BUILDERS", "INPUTS", "INPUT_STAGES", "REGISTRY", "SPECS", "Backbone", "BackboneSpec", "ModelConfigError",
    "ModelOutput", "NetworkUnavailableError", "PromptedModel", "Recipe", "StageSettings", "Tiny3D",
    "backbone_entry", "build_backbone", "build_model", "load_backbone_weights", "register_backbone",
    "slowfast_pathways", "with_motion_prompt",
]
