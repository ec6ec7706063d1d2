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


#: The (m, n) listed for each lambda on the authors' project page (FineGym, uneven bar; file
#: ``static/html/lambda_FineGym.html`` of q1xiangchen.github.io/motion-prompts). The page gives
#: the values without saying in words how they were obtained; the book presents them as the page's.
AUTHORS_FINEGYM_M_N = {
    0.0: (1.69, -0.26), 0.1: (1.80, -0.26), 0.5: (0.86, -2.13), 1.0: (1.02, -2.32), 1.5: (1.10, -2.45),
    2.0: (1.01, -2.60), 2.5: (1.06, -2.67), 5.0: (1.30, -2.94), 10.0: (1.28, -3.27),
}


def authors_slope_shift() -> dict[float, tuple[float, float]]:
    """:data:`AUTHORS_FINEGYM_M_N` as effective (slope, shift) per lambda, by the paper's formulas."""
    from vmp.prompt import shift_from_n, slope_from_m

    return {lam: (slope_from_m(torch.tensor(m)).item(), shift_from_n(torch.tensor(n)).item())
            for lam, (m, n) in AUTHORS_FINEGYM_M_N.items()}
