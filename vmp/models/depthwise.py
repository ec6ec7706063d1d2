"""A faster CPU backward for X3D's depthwise 3D convolutions, the same gradients by another route.

On the CPU, PyTorch's oneDNN computes the input gradient of a depthwise ``Conv3d`` (one 3D kernel
per channel, ``groups == channels``) 5-50 times slower than the convolution itself, and X3D has one
in every block: they take about half of a training step. That gradient is itself a depthwise
convolution, of the output gradient (zero-stuffed between samples when the convolution strides)
with the kernel flipped in time, height and width, so it can run on the fast forward kernel.
:func:`fast_depthwise` swaps a model's depthwise ``Conv3d`` modules for :class:`DepthwiseConv3d`,
which does that; its weights, forward pass and ``state_dict`` are unchanged, and its gradients equal
the standard ones up to float rounding (``tests/test_depthwise.py``; the speed-up:
``benchmarks/bench_depthwise.py``).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


def zero_stuffed(grad: torch.Tensor, stride: tuple[int, ...], size: list[int]) -> torch.Tensor:
    """``grad`` spread ``stride`` samples apart in a zero tensor of spatial ``size``: where each
    output of a strided convolution sits on its input's grid."""
    if all(step == 1 for step in stride):
        return grad
    stuffed = grad.new_zeros(*grad.shape[:2], *size)
    stuffed[:, :, :: stride[0], :: stride[1], :: stride[2]] = grad
    return stuffed


class _DepthwiseConv3dFunction(torch.autograd.Function):
    """A depthwise 3D convolution without bias, whose input gradient runs on the forward kernel."""

    @staticmethod
    def forward(ctx: Any, clips: torch.Tensor, weight: torch.Tensor, stride: tuple[int, ...],
                padding: tuple[int, ...]) -> torch.Tensor:
        ctx.save_for_backward(clips, weight)
        ctx.stride, ctx.padding = stride, padding
        return F.conv3d(clips, weight, None, stride, padding, 1, clips.shape[1])

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None, None, None]:
        clips, weight = ctx.saved_tensors
        stride, padding, channels = ctx.stride, ctx.padding, clips.shape[1]
        kernel = weight.shape[2:]
        grad_clips = grad_weight = None
        if ctx.needs_input_grad[0]:
            # the span of input positions the kernel's first tap visits, one step apart
            size = [length + 2 * pad - k + 1 for length, pad, k in zip(clips.shape[2:], padding, kernel)]
            grad_clips = F.conv3d(zero_stuffed(grad, stride, size), weight.flip(2, 3, 4), None, 1,
                                  [k - 1 - pad for k, pad in zip(kernel, padding)], 1, channels)
        if ctx.needs_input_grad[1]:
            grad_weight = torch.nn.grad.conv3d_weight(clips, weight.shape, grad, stride, padding, 1, channels)
        return grad_clips, grad_weight, None, None


class DepthwiseConv3d(nn.Conv3d):
    """``nn.Conv3d`` with ``groups == in_channels == out_channels``, no bias, zero padding of at most
    ``kernel - 1`` and no dilation, whose CPU backward takes the faster route (module docstring).
    On other devices, and under autocast, it is a plain ``nn.Conv3d``."""

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        if clips.device.type != "cpu" or torch.is_autocast_enabled("cpu"):
            return super().forward(clips)
        return _DepthwiseConv3dFunction.apply(clips, self.weight, self.stride, self.padding)


def is_plain_depthwise(module: nn.Module) -> bool:
    """True for an ``nn.Conv3d`` :class:`DepthwiseConv3d` can replace."""
    return (type(module) is nn.Conv3d and module.groups == module.in_channels == module.out_channels
            and module.bias is None and module.padding_mode == "zeros" and module.dilation == (1, 1, 1)
            and not isinstance(module.padding, str)
            and all(pad <= k - 1 for pad, k in zip(module.padding, module.kernel_size)))


def fast_depthwise(model: nn.Module) -> int:
    """Replace every depthwise ``Conv3d`` of ``model`` that :func:`is_plain_depthwise` accepts by a
    :class:`DepthwiseConv3d` holding the same weight parameter; return how many were replaced."""
    replaced = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if not is_plain_depthwise(child):
                continue
            swapped = DepthwiseConv3d(child.in_channels, child.out_channels, child.kernel_size, child.stride,
                                      child.padding, groups=child.groups, bias=False, device="meta")
            swapped.weight = child.weight
            swapped.train(child.training)
            setattr(parent, name, swapped)
            replaced += 1
    return replaced
