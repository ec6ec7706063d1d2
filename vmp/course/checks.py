"""Automatic checks for the course's graded assignments: students run them on their own work.

Each check raises ``AssertionError`` with a message that says what is wrong, or returns a short
report of what passed. They compare against the package, so they test results, not code style.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch

from vmp.prompt import MotionPrompt, gray_differences, luma_per_unit, m_n_for
from vmp.stats.paired_t import Interval, paired_difference


def check_motion_prompt(motion_prompt: Callable[..., tuple[torch.Tensor, torch.Tensor]], trials: int = 5) -> str:
    """Assignment 1: a student's ``motion_prompt(clip, slope, shift, mean, std)`` returning
    ``(prompts, attention)`` for a normalised ``BCTHW`` clip of T+1 frames must match
    :class:`vmp.MotionPrompt` in value and in its gradients with respect to slope and shift."""
    from vmp.course.exercises import refuse_names

    refuse_names(motion_prompt, {"MotionPrompt", "_PromptFunction", "gray_differences", "luma", "luma_per_unit",
                            "over_channels", "with_motion_prompt"},
            "the assignment is to write the layer, not to wrap the package's")
    generator = torch.Generator().manual_seed(2024)
    for trial in range(trials):
        slope = float(torch.empty(()).uniform_(10.0, 49.0, generator=generator))
        shift = float(torch.empty(()).uniform_(-0.3, 0.3, generator=generator))
        mean = tuple(float(v) for v in torch.empty(3).uniform_(0.3, 0.6, generator=generator))
        std = tuple(float(v) for v in torch.empty(3).uniform_(0.15, 0.3, generator=generator))
        clip = torch.randn(2, 3, 5, 12, 16, generator=generator, dtype=torch.float64)
        m, n = m_n_for(slope, shift)
        reference = MotionPrompt(mean=mean, std=std, m=m, n=n).double()
        want_prompts, want_attention = reference(clip)
        slope_tensor = torch.tensor(reference.slope.item(), dtype=torch.float64, requires_grad=True)
        shift_tensor = torch.tensor(reference.shift.item(), dtype=torch.float64, requires_grad=True)
        prompts, attention = motion_prompt(clip, slope_tensor, shift_tensor, mean, std)
        where = f"trial {trial} (slope {slope:.2f}, shift {shift:+.3f}, mean {mean}, std {std})"
        assert tuple(attention.shape) == tuple(want_attention.shape), (
            f"{where}: attention has shape {tuple(attention.shape)}, expected {tuple(want_attention.shape)} (B, T, H, "
            "W)"
        )
        assert tuple(prompts.shape) == tuple(want_prompts.shape), \
            f"{where}: prompts have shape {tuple(prompts.shape)}, expected {tuple(want_prompts.shape)} (B, C, T, H, W)"
        assert torch.allclose(attention.double(), want_attention, atol=1e-6), \
            f"{where}: attention differs by up to {(attention.double() - want_attention).abs().max():.2e}"
        assert torch.allclose(prompts.double(), want_prompts, atol=1e-6), \
            f"{where}: prompts differ by up to {(prompts.double() - want_prompts).abs().max():.2e}"
        weights = torch.randn(want_attention.shape, generator=generator, dtype=torch.float64)
        (attention * weights).sum().backward()
        # the reference gradients: the paper's formula on the same gray differences, through autograd
        slope_ref = torch.tensor(slope_tensor.item(), dtype=torch.float64, requires_grad=True)
        shift_ref = torch.tensor(shift_tensor.item(), dtype=torch.float64, requires_grad=True)
        difference = gray_differences(clip, luma_per_unit(std))
        (torch.sigmoid(slope_ref * (difference - shift_ref)) * weights).sum().backward()
        assert slope_tensor.grad is not None and shift_tensor.grad is not None, \
            f"{where}: no gradient reached slope or shift (is the attention computed from them with torch ops?)"
        for name, got, want in (
            ("slope", slope_tensor.grad, slope_ref.grad),
            ("shift", shift_tensor.grad, shift_ref.grad),
        ):
            assert torch.allclose(got.double(), want, rtol=1e-5, atol=1e-8), \
                f"{where}: dL/d{name} is {got.item():.6g}, expected {want.item():.6g}"
    return f"motion_prompt: {trials} random clips, values and gradients match vmp.MotionPrompt"


def check_paired_report(runs_a: dict[int, float], runs_b: dict[int, float], claimed: Sequence[float],
                        minimum_seeds: int = 5, test_clips: int | None = None) -> Interval:
    """Assignment 2: the mean paired difference and 95% interval a student reports (``claimed`` =
    ``(mean, low, high)``, accuracies as fractions) must follow from their runs, paired by seed.

    With ``test_clips``, every accuracy must be a whole number of right clips out of that many, as
    a real test run's is (an invented 0.8123 on 60 clips is refused)."""
    claimed = tuple(claimed)
    assert len(claimed) == 3, f"report (mean, low, high): three numbers, got {len(claimed)}"
    seeds = sorted(set(runs_a) & set(runs_b))
    assert len(seeds) >= minimum_seeds, f"{len(seeds)} paired seeds; the assignment asks for at least {minimum_seeds}"
    for name, runs in (("a", runs_a), ("b", runs_b)):
        for seed, value in runs.items():
            assert 0 <= value <= 1, f"runs_{name}[{seed}] = {value}: accuracies are fractions in [0, 1]"
            if test_clips is not None:
                assert abs(value * test_clips - round(value * test_clips)) < 1e-6, \
                    f"runs_{name}[{seed}] = {value} is not a whole number of right clips out of {test_clips}"
    interval = paired_difference(runs_a, runs_b)
    for name, value, expected in zip(("mean", "low", "high"), claimed, interval[:3]):
        assert abs(value - expected) < 5e-4, (
            f"reported {name} {value:.4f} does not follow from the runs ({expected:.4f}, paired t over {len(seeds)} "
            "seeds)"
        )
    return interval
