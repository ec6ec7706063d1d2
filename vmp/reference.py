"""The authors' formulation of the VMP layer, re-expressed for comparison only.

It follows the recipe of the released code (github.com/q1xiangchen/VMPs, ``vmps.py``) step by
step: permute to (B, T, C, H, W); de-normalise the whole clip with hard-coded 0.45 / 0.225 into a
full-size copy; grayscale with an einsum that assumes BGR order; difference; the sigmoid written
out as ``1 / (1 + exp(-a (D - b)))``; TAV computed inside the forward pass whenever gradients are
on; attention repeated to three channels; product; permuted back (a view, left non-contiguous).
The book, the tests and the benchmark compare :class:`vmp.MotionPrompt` with it.
"""

from __future__ import annotations

import torch

from vmp.prompt import BT601_RGB


def authors_motion_prompt(
    clip: torch.Tensor, m: torch.Tensor, n: torch.Tensor, layout: str = "BCTHW"
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Prompts (a view in ``layout``), attention ``(B, T, H, W)`` and, with gradients on, the TAV term."""
    to_btchw = [layout.index(axis) for axis in "BTCHW"]
    frames = clip.permute(to_btchw)
    pixels = frames * 0.225 + 0.45
    bgr_weights = torch.tensor(BT601_RGB[::-1], dtype=clip.dtype, device=clip.device)
    gray = torch.einsum("btchw,c->bthw", pixels, bgr_weights)
    difference = gray[:, 1:] - gray[:, :-1]
    slope = 5 / (0.45 * torch.abs(torch.tanh(m)) + 1e-1)
    attention = 1 / (1 + torch.exp(-slope * (difference - 0.6 * torch.tanh(n))))
    repeated = attention.unsqueeze(2).repeat(1, 1, 3, 1, 1)
    tav = None
    if torch.is_grad_enabled():
        batch, frames_in, height, width = gray.shape
        tav = torch.sum((attention[:, 1:] - attention[:, :-1]).pow(2)) / (height * width * (frames_in - 2) * batch)
    prompts = repeated * frames[:, 1:]
    return prompts.permute(["BTCHW".index(axis) for axis in layout]), attention, tav
