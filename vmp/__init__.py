"""vmp: video motion prompts, the layer, its regulariser, data, backbones and training."""

from vmp.loss import temporal_attention_variation
from vmp.prompt import MotionPrompt, MotionPromptOutput

__all__ = ["MotionPrompt", "MotionPromptOutput", "temporal_attention_variation"]
__version__ = "0.1.0"
