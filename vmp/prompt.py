"""The video motion prompt (VMP) layer: frame differences -> sigmoid attention -> motion prompts.

Equations (Chen et al., ACML 2024), for a clip of T+1 normalised frames F_0..F_T:

    G_t = 0.299 R + 0.587 G + 0.114 B          grayscale of the de-normalised frame
    D_t = G_t - G_{t-1}                         signed frame difference, t = 1..T
    A_t = sigmoid(a (D_t - b))                  attention map in [0, 1]
    a   = 5 / (0.45 |tanh m| + 0.1)             slope, bounded to (5/0.55, 50] = (9.09, 50]
    b   = 0.6 tanh n                            shift, bounded to (-0.6, 0.6)
    P_t = A_t * F_t                             motion prompt, the map broadcast over channels

De-normalising adds a per-channel constant (the mean) that cancels in D_t, so the layer
never materialises de-normalised frames: D_t = sum_c w_c std_c (x_{c,t} - x_{c,t-1}) exactly.
The shift, slope and sigmoid run in place, and the backward pass is written out by hand from the
derivatives dA/da = A (1 - A)(D - b) and dA/db = -a A (1 - A): the layer allocates its two outputs,
a one-channel grayscale clip and, in training, the one tensor the slope's gradient needs (D - b).
"""

from __future__ import annotations

import math
from typing import NamedTuple, Sequence

import torch
from torch import nn

from vmp.attention import FUNCTIONS, PowerNormalisation
from vmp.layout import check_layout, from_canonical, to_canonical
from vmp.normalisation import KINETICS

#: ITU-R BT.601 luma weights for R, G, B.
BT601_RGB = (0.299, 0.587, 0.114)

#: Bounds of the slope ``a = 5 / (0.45 |tanh m| + 0.1)``: |tanh m| in [0, 1) maps a to (9.09, 50]
#: (the paper's summary quotes about [3.45, 50]; the formula gives 5/0.55 = 9.09 at the low end).
SLOPE_RANGE = (5 / 0.55, 5 / 0.1)
#: Bound of the shift ``b = 0.6 tanh n``.
SHIFT_BOUND = 0.6
#: The book's learnable starting point (slope, shift). Slope 50 is the cusp of ``a(m)`` at m = 0,
#: where autograd gives m a zero gradient for ever; 30 is off it (m = 0.149, |da/dm| = 79), with
#: room to move either way. The shift was chosen on validation among five starts (the regimes
#: study, ``benchmarks/regimes.py``): at -0.3 a still pixel gets attention 0.9999, so the
#: prompts start as the frames a pretrained backbone knows.
DEFAULT_START = (30.0, -0.3)


class MotionPromptOutput(NamedTuple):
    """What :class:`MotionPrompt` returns: the prompted frames and the attention maps behind them."""

    prompts: torch.Tensor
    """T prompted frames, in the input's layout and normalisation."""
    attention: torch.Tensor
    """Attention maps ``(B, T, H, W)`` in [0, 1]; feed them to :func:`vmp.temporal_attention_variation`."""


def slope_from_m(m: torch.Tensor) -> torch.Tensor:
    """The effective sigmoid slope ``a = 5 / (0.45 |tanh m| + 0.1)``."""
    return 5.0 / (0.45 * torch.tanh(m).abs() + 0.1)


def shift_from_n(n: torch.Tensor) -> torch.Tensor:
    """The effective sigmoid shift ``b = 0.6 tanh n``."""
    return SHIFT_BOUND * torch.tanh(n)


def m_n_for(slope: float, shift: float, learnable: bool = True) -> tuple[float, float]:
    """The (m, n) that give an effective ``slope`` in (9.09, 50] and ``shift`` in (-0.6, 0.6).

    Slope 50 means m = 0, the cusp of ``a(m)``: autograd's gradient there is 0, so a layer started
    there never changes its slope. It is refused unless ``learnable=False`` (a frozen layer);
    use :data:`DEFAULT_START` or any slope below 50 for a layer that learns.
    """
    if not SLOPE_RANGE[0] < slope <= SLOPE_RANGE[1]:
        raise ValueError(f"slope must be in ({SLOPE_RANGE[0]:.3f}, {SLOPE_RANGE[1]}], got {slope}")
    if learnable and slope == SLOPE_RANGE[1]:
        raise ValueError(
            f"slope {slope} is the cusp of a(m) at m = 0, where the slope's gradient is 0 and it would never "
            f"move; start a learnable layer below it (DEFAULT_START = {DEFAULT_START}), or pass learnable=False "
            "for a frozen layer"
        )
    if not -SHIFT_BOUND < shift < SHIFT_BOUND:
        raise ValueError(f"shift must be in (-{SHIFT_BOUND}, {SHIFT_BOUND}), got {shift}")
    return math.atanh((5 / slope - 0.1) / 0.45), math.atanh(shift / SHIFT_BOUND)


def luma_per_unit(std: Sequence[float], channels: str = "RGB") -> tuple[float, float, float]:
    """Gray-level change per unit of normalised input, per channel: ``w_c * std_c`` (BT.601 weights
    in the clip's channel order); the mean cancels in a difference."""
    weights = BT601_RGB if channels == "RGB" else BT601_RGB[::-1]
    return tuple(w * s for w, s in zip(weights, std))  # type: ignore[return-value]


def _check_triple(name: str, values: Sequence[float]) -> tuple[float, float, float]:
    """Three per-channel floats, or a ValueError naming the argument."""
    triple = tuple(float(v) for v in values)
    if len(triple) != 3:
        raise ValueError(f"{name} needs one value per channel (3), got {len(triple)}: {triple}")
    return triple  # type: ignore[return-value]


class MotionPrompt(nn.Module):
    """Turn T+1 normalised frames into T motion prompts and their attention maps.

    Args:
        layout: axis order of the clips, any permutation of ``"BCTHW"`` (``"BTCHW"`` for TimeSformer).
        mean, std: the per-channel normalisation the clips carry, in the clips' channel order.
        channels: ``"RGB"`` or ``"BGR"``, the order the grayscale weights are applied in.
        m, n: initial values of the two learnable scalars; by default drawn from N(1e-5, 1)
            with torch's global generator, as the authors do.
        function: the attention function, ``"sigmoid"`` (the paper's, the default) or one of the
            power normalisations of :mod:`vmp.attention` (``"gamma"``, ``"maxexp"``, ``"sigme"``,
            ``"asinhe"``), which act on ``|D_t|`` with one learnable parameter instead of m and n.
        parameter: that PN function's initial parameter value (its ``start`` if None).
    """

    def __init__(
        self,
        layout: str = "BCTHW",
        mean: Sequence[float] = KINETICS.mean,
        std: Sequence[float] = KINETICS.std,
        channels: str = "RGB",
        m: float | None = None,
        n: float | None = None,
        function: str = "sigmoid",
        parameter: float | None = None,
    ) -> None:
        super().__init__()
        self.layout = check_layout(layout)
        self.mean = _check_triple("mean", mean)
        self.std = _check_triple("std", std)
        if any(s <= 0 for s in self.std):
            raise ValueError(f"std must be positive in every channel, got {self.std}")
        if channels not in ("RGB", "BGR"):
            raise ValueError(f"channels must be 'RGB' or 'BGR', got {channels!r}")
        self.channels = channels
        self.luma_per_unit = luma_per_unit(self.std, channels)
        if function not in FUNCTIONS:
            raise ValueError(f"function must be one of {FUNCTIONS}, got {function!r}")
        self.function = function
        if function == "sigmoid":
            if parameter is not None:
                raise ValueError("the sigmoid takes m and n, not parameter (that is for the PN functions)")
            self.m = nn.Parameter(self._initial(m))
            self.n = nn.Parameter(self._initial(n))
        else:
            if m is not None or n is not None:
                raise ValueError(f"{function} has one parameter (pass parameter=...), not the sigmoid's m and n")
            self.power_normalisation = PowerNormalisation(function, parameter)

    @staticmethod
    def _initial(value: float | None) -> torch.Tensor:
        """A 0-d float32 tensor: ``value`` if given, else a draw from N(1e-5, 1)."""
        if value is not None:
            return torch.tensor(float(value))
        return torch.randn(()) + 1e-5

    def _sigmoid_only(self, what: str) -> None:
        if self.function != "sigmoid":
            raise TypeError(f"a {self.function} layer has no {what} (only the sigmoid has); "
                                 f"read its parameter with .learned()")

    @property
    def slope(self) -> torch.Tensor:
        """The effective slope ``a`` (a tensor, differentiable with respect to ``m``)."""
        self._sigmoid_only("slope")
        return slope_from_m(self.m)

    @property
    def shift(self) -> torch.Tensor:
        """The effective shift ``b`` (a tensor, differentiable with respect to ``n``)."""
        self._sigmoid_only("shift")
        return shift_from_n(self.n)

    def learned(self) -> dict[str, float]:
        """The layer's effective parameters by name: slope and shift, or the PN function's γ or η."""
        if self.function == "sigmoid":
            return {"slope": self.slope.item(), "shift": self.shift.item()}
        return {self.power_normalisation.spec.parameter: self.power_normalisation.value.item()}

    def check_clip(self, clip: torch.Tensor) -> None:
        """Raise ``ValueError`` naming the problem if ``clip`` cannot be prompted."""
        if not isinstance(clip, torch.Tensor):
            raise ValueError(f"clip must be a torch.Tensor, got {type(clip).__name__}")
        if clip.dim() != 5:
            raise ValueError(
                f"clip must be 5-D in layout {self.layout}, got {clip.dim()}-D shape {tuple(clip.shape)}"
            )
        if not clip.is_floating_point():
            raise ValueError(
                f"clip must be normalised floating point, got dtype {clip.dtype} "
                f"(convert with clip.float() and normalise with mean/std first)"
            )
        shape = dict(zip(self.layout, clip.shape))
        if shape["C"] != 3:
            raise ValueError(
                f"clip must have 3 channels on axis {self.layout.index('C')} of layout {self.layout}, "
                f"got {shape['C']} (shape {tuple(clip.shape)})"
            )
        if shape["T"] < 2:
            raise ValueError(
                f"clip needs at least 2 frames on axis {self.layout.index('T')} of layout {self.layout} "
                f"(T+1 frames give T prompts), got {shape['T']} (shape {tuple(clip.shape)})"
            )

    def forward(self, clip: torch.Tensor) -> MotionPromptOutput:
        """Prompt a clip of T+1 frames; returns T prompts (input layout) and T attention maps."""
        self.check_clip(clip)
        frames = to_canonical(clip, self.layout)
        if self.function == "sigmoid":
            prompts, attention = _PromptFunction.apply(frames, self.slope, self.shift, self.luma_per_unit)
        else:
            attention = self.power_normalisation(gray_differences(frames, self.luma_per_unit))
            prompts = frames[:, :, 1:] * over_channels(attention)
        return MotionPromptOutput(from_canonical(prompts, self.layout), attention)

    def extra_repr(self) -> str:
        learned = ", ".join(f"{name}={value:.3f}" for name, value in self.learned().items())
        return f"layout={self.layout!r}, channels={self.channels!r}, function={self.function!r}, {learned}"


def luma(frames: torch.Tensor, luma_weights: Sequence[float]) -> torch.Tensor:
    """``sum_c w_c x_c`` of a ``BCTHW`` tensor, ``(B, T, H, W)``: with :func:`luma_per_unit`'s weights,
    the gray change in [0, 1] pixel units of a difference of normalised frames."""
    return sum(weight * frames[:, channel] for channel, weight in enumerate(luma_weights))


def gray_differences(frames: torch.Tensor, luma_weights: Sequence[float]) -> torch.Tensor:
    """``D_t = G_t - G_{t-1}`` in [0, 1] pixel units, ``(B, T, H, W)``, from a normalised ``BCTHW`` clip."""
    return luma(frames[:, :, 1:] - frames[:, :, :-1], luma_weights)


def luma_in_first_channel_units(frames: torch.Tensor, weights: tuple[float, float, float]) -> torch.Tensor:
    """Grayscale of a ``BCTHW`` view divided by the first channel's weight, up to a constant.

    ``x_0 + (k_1/k_0) x_1 + (k_2/k_0) x_2`` takes two fused passes over the clip instead of three;
    the caller folds ``k_0`` into the slope and shift. Elementwise on purpose: a matmul or einsum
    would run in float16/bfloat16 under autocast and lose the small differences the layer exists to see.
    """
    first, second, third = weights
    gray = torch.add(frames[:, 0], frames[:, 1], alpha=second / first)
    return gray.add_(frames[:, 2], alpha=third / first)


def over_channels(attention: torch.Tensor) -> torch.Tensor:
    """A (B, T, H, W) map as a (B, 3, T, H, W) view, no copy.

    Expanding explicitly instead of broadcasting a size-1 axis measured 2x faster on CPU.
    """
    return attention.unsqueeze(1).expand(-1, 3, -1, -1, -1)


class _PromptFunction(torch.autograd.Function):
    """Attention maps and prompts from a ``BCTHW`` view, with the backward pass written out."""

    @staticmethod
    def forward(ctx, frames, slope, shift, luma_weights):  # noqa: ANN001, ANN205 - autograd's signature
        unit = luma_weights[0]  # the grayscale below is in units of the first channel's weight
        gray = luma_in_first_channel_units(frames, luma_weights)
        shifted = (gray[:, 1:] - gray[:, :-1]).sub_(shift / unit)  # (D_t - b) / unit
        del gray  # free the (T+1)-frame grayscale before the prompts are allocated
        if ctx.needs_input_grad[1]:
            attention = torch.mul(shifted, slope * unit).sigmoid_()  # keep D - b for dA/da
        else:
            attention, shifted = shifted.mul_(slope * unit).sigmoid_(), None
        prompts = frames[:, :, 1:] * over_channels(attention)
        ctx.save_for_backward(frames, slope, shift, attention, shifted)
        ctx.luma_weights = luma_weights
        return prompts, attention

    @staticmethod
    def backward(ctx, grad_prompts, grad_attention):  # noqa: ANN001, ANN205
        frames, slope, shift, attention, shifted = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph=True: this backward will be differentiated again
            return _differentiable_backward(frames, slope, shift, ctx.luma_weights, ctx.needs_input_grad,
                                            grad_prompts, grad_attention)
        needs_frames, needs_slope, needs_shift, _ = ctx.needs_input_grad
        moving = frames[:, :, 1:]
        # dL/dA: the attention's own gradient (from TAV) plus the prompts', summed over channels.
        grad_map = grad_attention.clone(memory_format=torch.contiguous_format)
        for channel in range(3):
            grad_map.addcmul_(grad_prompts[:, channel], moving[:, channel])
        # dL/dz for z = a (D - b): the sigmoid's derivative A (1 - A).
        grad_logit = torch.ops.aten.sigmoid_backward(grad_map, attention)
        unit = ctx.luma_weights[0]
        grad_slope = torch.dot(grad_logit.flatten(), shifted.flatten()) * unit if needs_slope else None
        grad_shift = -slope * grad_logit.sum() if needs_shift else None
        grad_frames = (
            _frames_gradient(grad_prompts, grad_logit * slope, attention, frames, ctx.luma_weights)
            if needs_frames
            else None
        )
        return grad_frames, grad_slope, grad_shift, None


def _frames_gradient(grad_prompts, grad_difference, attention, frames, luma_weights):  # noqa: ANN001, ANN202
    """dL/dF: through the product (for frames 1..T) and through the grayscale difference (all frames)."""
    grad_frames = torch.zeros_like(frames)
    grad_frames[:, :, 1:] = grad_prompts * over_channels(attention)
    grad_gray = torch.zeros_like(grad_frames[:, 0])
    grad_gray[:, 1:] += grad_difference
    grad_gray[:, :-1] -= grad_difference
    for channel, weight in enumerate(luma_weights):
        grad_frames[:, channel].add_(grad_gray, alpha=weight)
    return grad_frames


def _differentiable_backward(  # noqa: ANN202
    frames, slope, shift, luma_weights, needs, grad_prompts, grad_attention  # noqa: ANN001
):
    """The backward pass in out-of-place operations on the saved inputs, so that autograd can
    differentiate it again (double backward, ``create_graph=True``); the first-order path above
    keeps its in-place kernels and its speed."""
    shifted = gray_differences(frames, luma_weights) - shift  # D - b, recomputed with its graph
    attention = torch.sigmoid(slope * shifted)
    grad_map = grad_attention + (grad_prompts * frames[:, :, 1:]).sum(dim=1)
    grad_logit = grad_map * attention * (1 - attention)
    grad_slope = (grad_logit * shifted).sum() if needs[1] else None
    grad_shift = -slope * grad_logit.sum() if needs[2] else None
    grad_frames = None
    if needs[0]:
        grad_difference = slope * grad_logit  # dL/dD_t, t = 1..T: +G_t, -G_{t-1}
        grad_gray = (nn.functional.pad(grad_difference, (0, 0, 0, 0, 1, 0))
                     - nn.functional.pad(grad_difference, (0, 0, 0, 0, 0, 1)))
        weights = torch.tensor(luma_weights, dtype=frames.dtype, device=frames.device).view(1, 3, 1, 1, 1)
        through_product = nn.functional.pad(grad_prompts * over_channels(attention), (0, 0, 0, 0, 1, 0))
        grad_frames = weights * grad_gray.unsqueeze(1) + through_product
    return grad_frames, grad_slope, grad_shift, None
