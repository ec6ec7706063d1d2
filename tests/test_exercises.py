"""Every exercise check passes the reference solution and fails: the blank stub, an answer that reads
the chapter's globals instead of its arguments, an answer that calls the package function the
exercise asks for, and at least two plausible wrong answers."""

from __future__ import annotations

import math
import statistics

import pytest
import torch
from scipy import stats

from vmp import temporal_attention_variation
from vmp.course import exercises
from vmp.models import build_model, slowfast_pathways
from vmp.prompt import MotionPrompt, gray_differences, m_n_for

BT601 = torch.tensor([0.299, 0.587, 0.114])
# what a chapter's notebook holds when the student's answer reads it instead of its arguments
CHAPTER_FRAMES = torch.rand(5, 6, 7, 3, generator=torch.Generator().manual_seed(1))
CHAPTER_CLIP = torch.randn(1, 3, 5, 6, 5)


def stub(*args):
    raise NotImplementedError("write me")


def fails(check, answer, match: str | None = None) -> None:
    with pytest.raises(AssertionError, match=match):
        check(answer)


# chapter 1 -------------------------------------------------------------------------------------
def signed_difference(frames):
    return (frames.double() / 255 @ BT601.double()).diff(dim=0)


def test_signed_difference():
    check = exercises.check_signed_difference
    assert check(signed_difference) == "signed_difference: correct"
    fails(check, stub, "still the stub")
    fails(check, lambda frames: (CHAPTER_FRAMES @ BT601).diff(dim=0), "shape|values")  # the chapter's frames
    fails(
        check,
        lambda frames: gray_differences(frames.permute(3, 0, 1, 2).unsqueeze(0).float(), (0.299, 0.587, 0.114))[0],
        "uses gray_differences",
    )

    def gray(frames):  # the chapter's own helper, called instead of written
        return frames.float() / 255 @ BT601

    fails(check, lambda frames: gray(frames).diff(dim=0), "uses gray")
    fails(
        check,
        lambda frames: (frames.float() / 255 @ BT601)[:-1] - (frames.float() / 255 @ BT601)[1:],
        "sign is reversed",
    )
    fails(check, lambda frames: (frames.float() / 255).mean(-1).diff(dim=0), "BT.601")  # the plain mean of the channels
    fails(check, lambda frames: (frames.float() / 255 @ BT601)[1:], "values")  # gray frames, no difference (off by one)
    fails(check, lambda frames: (frames.float() @ BT601).diff(dim=0), "0-255 units")  # not divided by 255
    fails(check, lambda frames: ((frames[1:] - frames[:-1]).float() / 255) @ BT601, "wraps around")  # uint8 subtraction


# chapter 2 -------------------------------------------------------------------------------------
def m_for_slope(slope):
    if not 5 / 0.55 < slope <= 50:
        raise ValueError(f"slope {slope} is outside (9.09, 50]")
    return math.atanh((5 / slope - 0.1) / 0.45)


def test_m_for_slope():
    check = exercises.check_m_for_slope
    assert check(m_for_slope) == "m_for_slope: correct"
    fails(check, stub, "still the stub")
    fails(check, lambda slope: m_n_for(slope, 0.0)[0], "uses m_n_for")
    fails(check, lambda slope: math.atanh((5 / slope - 0.1) / 0.45), "ValueError")  # no range check of its own
    fails(check, lambda slope: math.atan((5 / slope - 0.1) / 0.45) if 9.1 < slope <= 50 else m_for_slope(slope),
          "is")  # atan for atanh
    fails(check, lambda slope: -m_for_slope(slope), "expected m >= 0")  # the other branch of |tanh|

    def unnamed(slope):
        if not 5 / 0.55 < slope <= 50:
            raise ValueError("out of range")
        return m_for_slope(slope)

    fails(check, unnamed, "should name the slope")


# chapter 3 -------------------------------------------------------------------------------------
def attention_from_normalised(clip, std, slope, shift):
    weights = BT601 * torch.tensor(std)
    gray = (clip * weights.view(1, 3, 1, 1, 1)).sum(dim=1)
    return torch.sigmoid(slope * (gray.diff(dim=1) - shift))


def test_attention_from_normalised():
    check = exercises.check_attention_from_normalised
    assert check(attention_from_normalised) == "attention_from_normalised: correct"
    fails(check, stub, "still the stub")
    layer = MotionPrompt("BCTHW")
    with torch.no_grad():
        chapter_attention = layer(CHAPTER_CLIP).attention
    fails(check, lambda clip, std, slope, shift: chapter_attention, "shape")  # `return attention`
    fails(check, lambda clip, std, slope, shift: MotionPrompt("BCTHW", std=std, m=m_n_for(slope, shift)[0],
                                                              n=m_n_for(slope, shift)[1])(clip).attention,
          "uses MotionPrompt")
    fails(check, lambda clip, std, slope, shift: attention_from_normalised(clip, (1.0, 1.0, 1.0), slope, shift),
          "differs")  # std ignored
    fails(check, lambda clip, std, slope, shift: attention_from_normalised(clip, std, slope, -shift), "differs")
    fails(check, lambda clip, std, slope, shift: attention_from_normalised(clip.flip(2), std, slope, shift),
          "differs")  # frames in reverse: the sign of the difference

    fails(check, with_the_mean, "uses KINETICS_MEAN")  # the rule of the exercise: no mean


KINETICS_MEAN = (0.45, 0.45, 0.45)


def with_the_mean(clip, std, slope, shift):
    """De-normalises first: the same numbers (the mean cancels), against the exercise's rule."""
    pixels = clip * torch.tensor(std).view(1, 3, 1, 1, 1) + torch.tensor(KINETICS_MEAN).view(1, 3, 1, 1, 1)
    gray = (pixels * BT601.view(1, 3, 1, 1, 1)).sum(dim=1)
    return torch.sigmoid(slope * (gray.diff(dim=1) - shift))


# chapter 4 -------------------------------------------------------------------------------------
def test_my_tav():
    check = exercises.check_my_tav
    assert check(lambda maps: maps.diff(dim=1).square().mean()) == "my_tav: correct"
    fails(check, stub, "still the stub")
    fails(check, lambda maps: temporal_attention_variation(maps), "uses temporal_attention_variation")
    chapter_maps = torch.rand(2, 5, 4, 4)
    fails(check, lambda maps: chapter_maps.diff(dim=1).square().mean(), "expected")
    fails(check, lambda maps: maps.diff(dim=1).abs().mean(), "expected")  # no square
    fails(check, lambda maps: maps.diff(dim=0).square().mean(), "expected")  # over the batch, not time
    fails(check, lambda maps: maps.diff(dim=1).square().sum() / maps.shape[0], "expected")  # a sum, not a mean


# chapter 5 -------------------------------------------------------------------------------------
def test_returned_bytes():
    check = exercises.check_returned_bytes
    assert check(lambda b, f, h, w, size: b * (f - 1) * h * w * 4 * size) == "returned_bytes: correct"
    fails(check, stub, "still the stub")

    def measured(b, f, h, w, size):
        prompts, maps = MotionPrompt()(torch.randn(b, 3, f, h, w))
        return (prompts.nbytes + maps.nbytes) // 4 * size

    fails(check, measured, "uses MotionPrompt")
    fails(
        check, lambda b, f, h, w, size: 4 * 8 * 112 * 112 * 4 * 4, "bytes"
    )  # the chapter's clip, whatever the arguments
    fails(check, lambda b, f, h, w, size: b * (f - 1) * h * w * 4 * 4, "bytes")  # float32 whatever the size
    fails(check, lambda b, f, h, w, size: b * f * h * w * 4 * size, "bytes")  # T+1 maps: off by one
    fails(check, lambda b, f, h, w, size: b * (f - 1) * h * w * 3 * size, "bytes")  # the attention forgotten


# chapter 6 -------------------------------------------------------------------------------------
def test_epoch_mean():
    check = exercises.check_epoch_mean
    assert check(lambda means, sizes: sum(m * s for m, s in zip(means, sizes)) / sum(sizes)) == "epoch_mean: correct"
    fails(check, stub, "still the stub")
    fails(check, lambda means, sizes: 0.46052, "mean over examples")  # the chapter's number
    fails(check, lambda means, sizes: sum(means) / len(means), "mean over examples")
    fails(check, lambda means, sizes: sum(m * s for m, s in zip(means, sizes)) / (len(sizes) * max(sizes)),
          "mean over examples")  # every batch taken as full


# chapter 7 -------------------------------------------------------------------------------------
def test_slow_indices():
    check = exercises.check_slow_indices
    assert check(lambda T, alpha: torch.linspace(0, T - 1, T // alpha).long().tolist()) == "slow_indices: correct"
    fails(check, stub, "still the stub")
    fails(check, lambda T, alpha: slowfast_pathways(torch.arange(float(T)).view(1, 1, T, 1, 1), alpha)[0]
          .flatten().long().tolist(), "uses slowfast_pathways")
    fails(check, lambda T, alpha: [0, 7], "expected")  # the chapter's answer for T = 8
    fails(check, lambda T, alpha: list(range(0, T, alpha)), "expected")  # every alpha-th
    fails(check, lambda T, alpha: torch.linspace(0, T - 1, T // alpha).round().long().tolist(), "expected")
    fails(check, lambda T, alpha: torch.linspace(0, T, T // alpha).long().tolist(), "expected")  # off by one


# chapter 8 -------------------------------------------------------------------------------------
def pool_kernel(T, crop):
    if crop % 32:
        raise ValueError(f"crop {crop} is not a multiple of 32")
    return T, crop // 32, crop // 32


def test_pool_kernel():
    check = exercises.check_pool_kernel
    assert check(pool_kernel) == "pool_kernel: correct"
    fails(check, stub, "still the stub")
    fails(check, lambda T, crop: tuple(int(k) for k in build_model("x3d_xs", 6, T, crop).backbone.blocks[-1]
                                       .pool.pool.kernel_size), "uses build_model")
    fails(check, lambda T, crop: (8, 2, 2), "expected")  # the chapter's clip
    fails(check, lambda T, crop: (T, math.ceil(crop / 32), math.ceil(crop / 32)), "should raise ValueError")
    fails(check, lambda T, crop: (T, crop // 32, crop // 32), "should raise ValueError")  # floor, no check
    fails(check, lambda T, crop: pool_kernel(T, crop)[::-1], "expected")  # axes reversed
    fails(check, lambda T, crop: (T // 4, crop // 32, crop // 32) if crop % 32 == 0 else pool_kernel(T, crop),
          "expected")  # time reduced as in SlowFast's slow pathway


# chapter 9 -------------------------------------------------------------------------------------
def test_token_count():
    from transformers import TimesformerConfig, TimesformerModel

    check = exercises.check_token_count
    assert check(lambda frames, crop, patch: 1 + frames * (crop // patch) ** 2) == "token_count: correct"
    fails(check, stub, "still the stub")

    def by_model(frames, crop, patch):
        config = TimesformerConfig(num_frames=frames, image_size=crop, patch_size=patch, hidden_size=24,
                                   num_hidden_layers=1, num_attention_heads=2, intermediate_size=48)
        return TimesformerModel(config)(torch.randn(1, frames, 3, crop, crop)).last_hidden_state.shape[1]

    fails(check, by_model, "uses Timesformer")
    fails(check, lambda frames, crop, patch: 1 + 8 * 16, "expected")  # the chapter's model
    fails(check, lambda frames, crop, patch: frames * (crop // patch) ** 2, "expected")  # no class token
    fails(check, lambda frames, crop, patch: 1 + (crop // patch) ** 2, "expected")  # one frame's patches
    fails(check, lambda frames, crop, patch: 1 + frames * crop // patch, "expected")  # patches per row only


# chapter 10 ------------------------------------------------------------------------------------
def paired_t_interval(a, b, confidence=0.95):
    differences = [x - y for x, y in zip(a, b)]
    mean = statistics.fmean(differences)
    half = stats.t.ppf((1 + confidence) / 2, len(differences) - 1) * statistics.stdev(differences)
    half /= len(differences) ** 0.5
    return mean, mean - half, mean + half


def test_paired_t_interval():
    from vmp.stats.paired_t import paired_difference

    check = exercises.check_paired_t_interval
    assert check(paired_t_interval) == "paired_t_interval: correct"
    fails(check, stub, "still the stub")
    fails(check, lambda a, b, confidence=0.95: tuple(paired_difference(dict(enumerate(a)), dict(enumerate(b)),
                                                                         confidence)[:3]), "uses paired_difference")
    fails(check, lambda a, b, confidence=0.95: (0.003, -0.05, 0.057), "expected")  # a chapter's interval

    def normal(a, b, confidence=0.95):  # z instead of t
        differences = [x - y for x, y in zip(a, b)]
        mean = statistics.fmean(differences)
        half = stats.norm.ppf((1 + confidence) / 2) * statistics.stdev(differences) / len(differences) ** 0.5
        return mean, mean - half, mean + half

    def no_sqrt(a, b, confidence=0.95):
        mean, low, _ = paired_t_interval(a, b, confidence)
        half = (mean - low) * len(a) ** 0.5 / len(a)
        return mean, mean - half, mean + half

    def population_sd(a, b, confidence=0.95):
        differences = [x - y for x, y in zip(a, b)]
        mean = statistics.fmean(differences)
        half = stats.t.ppf((1 + confidence) / 2, len(a) - 1) * statistics.pstdev(differences) / len(a) ** 0.5
        return mean, mean - half, mean + half

    for wrong in (normal, no_sqrt, population_sd):
        fails(check, wrong, "expected")


def paired_difference_se(correct_a, correct_b):
    differences = [a - b for a, b in zip(correct_a, correct_b)]
    return statistics.stdev(differences) / len(differences) ** 0.5


def test_paired_difference_se():
    import numpy as np

    check = exercises.check_paired_difference_se
    assert check(paired_difference_se) == "paired_difference_se: correct"
    fails(check, stub, "still the stub")
    fails(check, lambda a, b: stats.sem(np.subtract(a, b)), "uses sem")
    fails(check, lambda a, b: 0.0099, "expected")  # the chapter's value for its own runs

    def independent(correct_a, correct_b):  # as if the two inputs saw different clips
        n = len(correct_a)
        return (statistics.variance(correct_a) / n + statistics.variance(correct_b) / n) ** 0.5

    def disagreement_share(correct_a, correct_b):  # the chapter's approximation sqrt(d / n)
        share = sum(a != b for a, b in zip(correct_a, correct_b)) / len(correct_a)
        return (share / len(correct_a)) ** 0.5

    def population_sd(correct_a, correct_b):
        differences = [a - b for a, b in zip(correct_a, correct_b)]
        return statistics.pstdev(differences) / len(differences) ** 0.5

    def no_sqrt(correct_a, correct_b):
        differences = [a - b for a, b in zip(correct_a, correct_b)]
        return statistics.variance(differences) / len(differences)

    def one_accuracy(correct_a, correct_b):
        return statistics.stdev(correct_a) / len(correct_a) ** 0.5

    for wrong in (independent, disagreement_share, population_sd, no_sqrt, one_accuracy):
        fails(check, wrong, "expected")
