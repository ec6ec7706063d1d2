"""Hugging Face's TimeSformer wrapped once, so that it is called as every backbone is: clip in, logits out.

Imported only when a TimeSformer is built (it imports ``transformers``).
"""

from __future__ import annotations

import torch
from transformers import TimesformerForVideoClassification


class TimesformerClassifier(TimesformerForVideoClassification):
    """``TimesformerForVideoClassification`` whose forward takes a ``BTCHW`` clip and returns the
    logits tensor. A subclass, not a container, so its weights keep Hugging Face's names and
    ``from_pretrained`` / ``save_pretrained`` work as they do on the original."""

    def forward(self, clip: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return super().forward(pixel_values=clip).logits
