"""Speed and memory of vmp.MotionPrompt against the authors' formulation and the memory floor.

Run: ``python benchmarks/bench_motion_prompt.py [--repeats 15] [--no-compile]``.
The four power-normalisation attention functions (``MotionPrompt(function=...)``, plain autograd)
are measured beside the sigmoid in the same rounds. Every contender runs once per round, in turn,
so machine noise hits them alike; the script prints the median time of each and the ratios the
project's goals are stated in.

glibc's malloc decides per allocation whether to map fresh pages, and that decision drifts with
the allocation history: the same 37 MiB copy takes 2.5 ms or 11 ms depending on what ran before
it. The script therefore measures two regimes, each in its own process: glibc's default policy
(what a plain CPU run gets, where fresh pages are paid for on every large temporary), and freed
memory kept for reuse (the steady state a caching allocator gives, as PyTorch's does on CUDA).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from typing import Callable

import torch

from vmp import MotionPrompt, temporal_attention_variation
from vmp.attention import PN_FUNCTIONS
from vmp.profiling import peak_allocated_bytes
from vmp.reference import authors_motion_prompt

SHAPE = (8, 3, 9, 224, 224)  # B, C, T+1, H, W


STEADY_MALLOC = {"MALLOC_MMAP_THRESHOLD_": str(2**30), "MALLOC_TRIM_THRESHOLD_": str(2**31)}
REGIMES = {"default": {}, "steady": STEADY_MALLOC}


def run_regimes(argv: list[str]) -> None:
    """Measure each allocation regime in a fresh process of this script."""
    for regime, variables in REGIMES.items():
        env = {key: value for key, value in os.environ.items() if key not in STEADY_MALLOC}
        subprocess.run([sys.executable, __file__, *argv, "--regime", regime], env={**env, **variables}, check=True)
        print()


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved_medians(contenders: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median seconds per contender, running one call of each per round after one warm-up round."""
    for fn in contenders.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, fn in contenders.items():
            times[name].append(timed(fn))
    return {name: statistics.median(ts) for name, ts in times.items()}


def _inference(layer: MotionPrompt, clip: torch.Tensor):
    with torch.no_grad():
        return layer(clip)


def _training_step(layer: MotionPrompt, clip: torch.Tensor, upstream: torch.Tensor, one: torch.Tensor) -> None:
    """Backward through the prompts and the TAV term, as a training step does."""
    prompts, attention = layer(clip)
    torch.autograd.backward([prompts, temporal_attention_variation(attention)], [upstream, one])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile contender")
    parser.add_argument("--regime", choices=sorted(REGIMES), help="measure one allocation regime only")
    args = parser.parse_args()
    if args.regime is None:
        run_regimes(sys.argv[1:])
        return

    torch.manual_seed(0)
    clip = torch.randn(SHAPE)
    layer = MotionPrompt()
    m, n = layer.m, layer.n
    upstream = torch.randn(SHAPE[0], 3, SHAPE[2] - 1, *SHAPE[3:])
    one = torch.tensor(1.0)
    clip_with_grad = clip.clone().requires_grad_(True)
    prompt_bytes = upstream.numel() * upstream.element_size()

    def ours_forward():
        return _inference(layer, clip)

    def authors_forward():
        with torch.no_grad():
            return authors_motion_prompt(clip, m, n)

    def floor_forward():
        with torch.no_grad():
            return clip[:, :, 1:].clone()

    # A training step's share: backward through the prompts and the TAV term (which the
    # authors' forward computes itself whenever gradients are on).
    def ours_backward():
        _training_step(layer, clip, upstream, one)

    def authors_backward():
        prompts, _, tav = authors_motion_prompt(clip, m, n)
        torch.autograd.backward([prompts, tav], [upstream, one])

    def floor_backward():
        clip_with_grad.grad = None
        torch.autograd.backward(clip_with_grad[:, :, 1:].clone(), upstream)

    contenders = {
        "ours fwd": ours_forward,
        "authors fwd": authors_forward,
        "floor fwd": floor_forward,
        "ours fwd+bwd": ours_backward,
        "authors fwd+bwd": authors_backward,
        "floor fwd+bwd": floor_backward,
    }
    pn_layers = {name: MotionPrompt(function=name) for name in PN_FUNCTIONS}
    for name, pn_layer in pn_layers.items():
        contenders[f"{name} fwd"] = lambda pn_layer=pn_layer: _inference(pn_layer, clip)
        contenders[f"{name} fwd+bwd"] = lambda pn_layer=pn_layer: _training_step(pn_layer, clip, upstream, one)
    if not args.no_compile:
        compiled = torch.compile(layer)

        def compiled_forward():
            with torch.no_grad():
                return compiled(clip)

        def compiled_backward():
            prompts, attention = compiled(clip)
            torch.autograd.backward([prompts, temporal_attention_variation(attention)], [upstream, one])

        contenders["compiled fwd"] = compiled_forward
        contenders["compiled fwd+bwd"] = compiled_backward

    malloc = {"default": "glibc default", "steady": "freed memory reused"}[args.regime]
    print(f"== allocation regime: {malloc} ==")
    print(f"clip {SHAPE} float32, {torch.get_num_threads()} threads, torch {torch.__version__}, "
          f"{args.repeats} interleaved rounds, medians")
    medians = interleaved_medians(contenders, args.repeats)
    for name, seconds in medians.items():
        print(f"  {name:18s} {seconds * 1e3:8.1f} ms")

    print("ratios (goal in brackets)")
    print(f"  authors / ours, forward           {medians['authors fwd'] / medians['ours fwd']:5.2f}x  [>= 4]")
    print(f"  authors / ours, forward+backward  {medians['authors fwd+bwd'] / medians['ours fwd+bwd']:5.2f}x  [>= 2]")
    print(f"  ours / floor, forward             {medians['ours fwd'] / medians['floor fwd']:5.2f}x  [<= 5]")
    print(f"  ours / floor, forward+backward    {medians['ours fwd+bwd'] / medians['floor fwd+bwd']:5.2f}x  [<= 10]")
    if not args.no_compile:
        print(f"  compiled / floor, forward         {medians['compiled fwd'] / medians['floor fwd']:5.2f}x")
        print(f"  compiled / floor, forward+backward {medians['compiled fwd+bwd'] / medians['floor fwd+bwd']:5.2f}x")

    print("power normalisations against the sigmoid and the floor (forward | forward+backward)")
    for name in pn_layers:
        print(
            f"  {name:8s} / sigmoid {medians[f'{name} fwd'] / medians['ours fwd']:5.2f}x | "
            f"{medians[f'{name} fwd+bwd'] / medians['ours fwd+bwd']:5.2f}x    / floor "
            f"{medians[f'{name} fwd'] / medians['floor fwd']:5.2f}x | "
            f"{medians[f'{name} fwd+bwd'] / medians['floor fwd+bwd']:5.2f}x"
        )

    returned_bytes = prompt_bytes * 4 // 3  # prompts (3 channels) + attention (1 channel)
    print("extra peak memory of one forward pass (outputs and autograd's saved tensors included),")
    print(f"  in units of what the layer returns, prompts + attention ({returned_bytes / 2**20:.0f} MiB) [goal <= 1.5]")
    for name, fn in (
        ("ours, inference", ours_forward),
        ("ours, training", lambda: layer(clip)),
        ("authors, inference", authors_forward),
        ("authors, training", lambda: authors_motion_prompt(clip, m, n)),
        ("floor (copy)", floor_forward),
        *(
            (f"{name}, inference", lambda pn_layer=pn_layer: _inference(pn_layer, clip))
            for name, pn_layer in pn_layers.items()
        ),
        *((f"{name}, training", lambda pn_layer=pn_layer: pn_layer(clip)) for name, pn_layer in pn_layers.items()),
    ):
        peak, result = peak_allocated_bytes(fn)
        del result
        print(f"  {name:20s} {peak / returned_bytes:5.2f}x   ({peak / prompt_bytes:4.2f}x the prompts alone)")

if __name__ == "__main__":
    main()
