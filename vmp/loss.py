"""The temporal attention variation (TAV) regulariser that keeps attention maps smooth in time."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def temporal_attention_variation(attention: torch.Tensor) -> torch.Tensor:
    """Mean over B, the T-1 consecutive pairs, H and W of ``(A_{t+1} - A_t)^2``.

    ``attention`` is ``(B, T, H, W)`` as returned by :class:`vmp.MotionPrompt`; T >= 2 maps
    (a clip of at least 3 frames). The training loss adds ``lambda * TAV`` to the task loss.
    """
    if not isinstance(attention, torch.Tensor):
        raise ValueError(f"attention must be a torch.Tensor, got {type(attention).__name__}")
    if attention.dim() != 4:
        raise ValueError(
            f"attention must be 4-D (B, T, H, W), got {attention.dim()}-D shape {tuple(attention.shape)}"
        )
    if not attention.is_floating_point():
        raise ValueError(f"attention must be floating point, got dtype {attention.dtype}")
    if attention.shape[1] < 2:
        raise ValueError(
            f"TAV needs at least 2 attention maps (a clip of 3+ frames), got T={attention.shape[1]} "
            f"(shape {tuple(attention.shape)})"
        )
    return F.mse_loss(attention[:, 1:], attention[:, :-1])
