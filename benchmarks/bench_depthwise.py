"""How much time X3D's depthwise convolutions save with :mod:`vmp.models.depthwise`'s CPU backward.

Run: ``python benchmarks/bench_depthwise.py [--rounds 9]``. Two settings: the book's small
pretrained X3D (8+1 frames at 64 px, batch 8, as chapter 8 fine-tunes it) and X3D-S at its standard clip (13+1
frames at 160 px, batch 2). For each, one training step (forward, cross-entropy, backward, AdamW
update) of the same model with the standard ``nn.Conv3d`` modules and with the fast ones, timed in
alternation; and each depthwise convolution's own forward and backward. Prints medians and ratios.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from vmp.models import build_model
from vmp.models.depthwise import DepthwiseConv3d

SETTINGS = {  # name: (backbone, T, crop, batch, weights)
    "book X3D-XS": ("x3d_xs", 8, 64, 8, "book"),  # the book's small pretrained X3D
    "X3D-S standard": ("x3d_s", 13, 160, 2, None),
}


def standard_copy(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` whose depthwise convolutions are plain ``nn.Conv3d`` again."""
    model = copy.deepcopy(model)
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, DepthwiseConv3d):
                plain = nn.Conv3d(child.in_channels, child.out_channels, child.kernel_size, child.stride,
                                  child.padding, groups=child.groups, bias=False)
                plain.weight = child.weight
                setattr(parent, name, plain)
    return model


def step_timer(model: nn.Module, clip: torch.Tensor, labels: torch.Tensor) -> Callable[[], float]:
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step() -> float:
        start = time.perf_counter()
        logits, _ = model(clip)
        optimizer.zero_grad()
        F.cross_entropy(logits, labels).backward()
        optimizer.step()
        return time.perf_counter() - start

    return step


def alternate(timers: dict[str, Callable[[], float]], rounds: int) -> dict[str, float]:
    """Median seconds of each timer over ``rounds`` alternating rounds, after one warm-up round."""
    times: dict[str, list[float]] = {name: [] for name in timers}
    for round_ in range(rounds + 1):
        for name, timer in timers.items():
            seconds = timer()
            if round_:
                times[name].append(seconds)
    return {name: statistics.median(values) for name, values in times.items()}


def layer_timers(model: nn.Module, clip: torch.Tensor) -> list[tuple[str, tuple, dict]]:
    """Each depthwise convolution of ``model`` with its input shape, and timers of its forward and
    backward with the standard and the fast module."""
    inputs: dict[str, torch.Tensor] = {}

    def keep_input(name: str) -> Callable:
        def hook(module: nn.Module, args: tuple, output: torch.Tensor) -> None:
            inputs[name] = args[0].detach()
        return hook

    hooks = [module.register_forward_hook(keep_input(name))
             for name, module in model.named_modules() if isinstance(module, DepthwiseConv3d)]
    with torch.no_grad():
        model(clip)
    for hook in hooks:
        hook.remove()
    modules = dict(model.named_modules())
    found = []
    for name, tensor in inputs.items():
        fast = modules[name]
        plain = standard_copy(nn.Sequential(fast))[0]
        source = tensor.clone().requires_grad_()

        def timer(module: nn.Module, source: torch.Tensor = source) -> Callable[[], float]:
            def run() -> float:
                start = time.perf_counter()
                output = module(source)
                output.backward(torch.ones_like(output))
                return time.perf_counter() - start
            return run

        found.append((name, tuple(tensor.shape), {"standard": timer(plain), "fast": timer(fast)}))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    print(f"{torch.get_num_threads()} threads, torch {torch.__version__}, {args.rounds} alternating rounds "
          "after one warm-up, medians")
    for title, (backbone, frames, crop, batch, weights) in SETTINGS.items():
        torch.manual_seed(0)
        fast = build_model(backbone, 6, frames, crop, input="frames", weights=weights).train()
        plain = standard_copy(fast)
        clip = torch.randn(batch, 3, frames + 1, crop, crop)
        labels = torch.arange(batch) % 6
        steps = alternate({"standard": step_timer(plain, clip, labels), "fast": step_timer(fast, clip, labels)},
                          args.rounds)
        print(f"\n{title} (T+1={frames + 1}, crop {crop}, batch {batch}): training step "
              f"{steps['standard']:.3f} s standard, {steps['fast']:.3f} s fast: "
              f"{steps['fast'] / steps['standard']:.2f}x the time")
        total = {"standard": 0.0, "fast": 0.0}
        for name, shape, timers in layer_timers(fast, clip):
            medians = alternate(timers, args.rounds)
            for key in total:
                total[key] += medians[key]
            print(f"  {name:<34} input {str(shape):<24} fwd+bwd {1e3 * medians['standard']:7.2f} ms standard, "
                  f"{1e3 * medians['fast']:6.2f} ms fast ({medians['fast'] / medians['standard']:.2f}x)")
        print(f"  all depthwise convolutions: {1e3 * total['standard']:.1f} ms standard, {1e3 * total['fast']:.1f} ms "
              f"fast ({total['fast'] / total['standard']:.2f}x)")


if __name__ == "__main__":
    main()
