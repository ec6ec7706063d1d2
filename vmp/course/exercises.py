"""Automatic checks for the chapters' exercises: each takes the student's function and tries it.

A check tries the function on inputs of its own (never a chapter's variables, so an answer that
reads the notebook's globals instead of its arguments fails), refuses an answer that calls the
package function the exercise asks the student to write, and compares with values computed
independently. It raises ``AssertionError`` saying what is wrong, or returns one line saying what
passed. ``tests/test_exercises.py`` holds wrong answers for every check and proves each one fails.
"""

from __future__ import annotations

import math
import statistics
from typing import Any, Callable, Iterable

import torch

#: BT.601 luma weights, written out here so the checks do not lean on the code under exercise.
_BT601 = (0.299, 0.587, 0.114)


def _names_used(function: Callable) -> set[str]:
    """Every global, attribute and module name a function's code (and the code nested in it) refers to."""
    names, codes = set(), [getattr(function, "__code__", None)]
    while codes:
        code = codes.pop()
        if code is None:
            continue
        names.update(code.co_names + code.co_freevars)  # globals and attributes, and names from an enclosing scope
        codes.extend(const for const in code.co_consts if hasattr(const, "co_names"))
    return names


def refuse_names(function: Callable, forbidden: Iterable[str], why: str) -> None:
    """Fail when ``function`` refers to one of ``forbidden``: the exercise is to write what they do."""
    used = sorted(_names_used(function) & set(forbidden))
    assert not used, f"{function.__name__} uses {', '.join(used)}: {why}"


def _call(function: Callable, *args) -> Any:
    """Call the student's function; a stub still raising NotImplementedError is named as such."""
    try:
        return function(*args)
    except NotImplementedError:
        raise AssertionError(f"{function.__name__} is still the stub: replace its `raise` with your code") from None


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def check_signed_difference(signed_difference: Callable[[torch.Tensor], torch.Tensor]) -> str:
    """Chapter 1: ``signed_difference(frames)``, frames ``(T+1, H, W, 3)`` as a decoder gives them
    (``uint8``, 0-255) -> ``(T, H, W)`` float signed BT.601 gray differences ``G_t - G_{t-1}`` in
    units of the full range (so in [-1, 1])."""
    refuse_names(signed_difference, {"gray_differences", "luma", "luma_per_unit", "MotionPrompt", "gray"},
                 "compute the gray frames and their differences yourself")
    for seed, shape in enumerate(((5, 6, 7, 3), (2, 3, 4, 3), (9, 5, 2, 3))):
        frames = torch.randint(0, 256, shape, generator=_generator(seed), dtype=torch.uint8)
        result = _call(signed_difference, frames.clone())
        steps, height, width, _ = shape
        assert tuple(result.shape) == (steps - 1, height, width), \
            f"frames {shape}: shape {tuple(result.shape)}, expected (T, H, W) = {(steps - 1, height, width)}"
        assert result.is_floating_point(), \
            f"frames {shape}: the result is {result.dtype}: uint8 cannot hold a negative difference"
        gray = sum(weight * frames[..., channel].double() / 255 for channel, weight in enumerate(_BT601))
        expected = gray[1:] - gray[:-1]
        if torch.allclose(result.double(), -expected, atol=1e-5):
            raise AssertionError(f"frames {shape}: the sign is reversed: D_t = G_t - G_(t-1), the later frame first")
        if torch.allclose(result.double(), 255 * expected, atol=1e-3):
            raise AssertionError(f"frames {shape}: values are in 0-255 units; divide by 255 for the full range")
        assert torch.allclose(result.double(), expected, atol=1e-5), \
            f"frames {shape}: values differ from G_t - G_(t-1) with the BT.601 weights {_BT601} by up to " \
            f"{(result.double() - expected).abs().max():.3g} (uint8 arithmetic wraps around below 0)"
    return "signed_difference: correct"


def check_m_for_slope(m_for_slope: Callable[[float], float]) -> str:
    """Chapter 2: ``m_for_slope(slope)``, the ``m >= 0`` with ``5 / (0.45 |tanh m| + 0.1) = slope``,
    a ``ValueError`` for a slope outside (9.09, 50]."""
    refuse_names(m_for_slope, {"m_n_for", "slope_from_m"}, "invert the formula yourself")
    for slope in (9.5, 12.0, 15.0, 30.0, 49.0, 50.0):
        m = _call(m_for_slope, slope)
        assert m >= 0, f"m_for_slope({slope}) = {m}: expected m >= 0"
        back = 5 / (0.45 * abs(math.tanh(m)) + 0.1)
        assert abs(back - slope) < 1e-9, f"the slope of m_for_slope({slope}) = {m:.6g} is {back:.6g}, not {slope}"
    for outside in (5.0, 9.0, 9.09, 50.5, 80.0):
        try:
            _call(m_for_slope, outside)
        except ValueError as error:
            assert str(outside) in str(error), f"the ValueError for {outside} should name the slope: {error!r}"
            continue
        raise AssertionError(f"m_for_slope({outside}) should raise ValueError: no m gives that slope")
    return "m_for_slope: correct"


def check_attention_from_normalised(attention_from_normalised: Callable) -> str:
    """Chapter 3: ``attention_from_normalised(clip, std, slope, shift)`` for a normalised ``BCTHW``
    clip, with the per-channel ``std`` and no mean, equals :class:`vmp.MotionPrompt`'s attention."""
    from vmp.prompt import MotionPrompt, m_n_for

    refuse_names(attention_from_normalised,
            {"MotionPrompt", "gray_differences", "luma", "luma_per_unit", "KINETICS_MEAN", "mean"},
            "the layer needs neither the mean nor its own code: weight the channels by std yourself")
    for seed in range(4):
        generator = _generator(seed)
        std = tuple(float(v) for v in torch.empty(3).uniform_(0.15, 0.35, generator=generator))
        mean = tuple(float(v) for v in torch.empty(3).uniform_(0.3, 0.6, generator=generator))
        slope = float(torch.empty(()).uniform_(10, 45, generator=generator))
        shift = float(torch.empty(()).uniform_(-0.3, 0.3, generator=generator))
        clip = torch.randn(2, 3, 4 + seed, 6, 5, generator=generator)
        reference = MotionPrompt("BCTHW", mean=mean, std=std, m=m_n_for(slope, shift)[0], n=m_n_for(slope, shift)[1])
        with torch.no_grad():
            expected = reference(clip).attention
        mine = _call(attention_from_normalised, clip, std, slope, shift)
        where = (
            f"clip {tuple(clip.shape)}, std {tuple(round(s, 3) for s in std)}, slope {slope:.1f}, shift {shift:+.2f}"
        )
        assert tuple(mine.shape) == tuple(expected.shape), \
            f"{where}: shape {tuple(mine.shape)}, expected (B, T, H, W) = {tuple(expected.shape)}"
        error = (torch.as_tensor(mine, dtype=expected.dtype) - expected).abs().max().item()
        assert error < 1e-5, f"{where}: the attention differs from the layer's by up to {error:.2e}"
    return "attention_from_normalised: correct"


def check_my_tav(my_tav: Callable[[torch.Tensor], torch.Tensor]) -> str:
    """Chapter 4: ``my_tav(maps)``, maps ``(B, T, H, W)``: the mean of ``(A_{t+1} - A_t)^2`` over the
    batch, the T-1 consecutive pairs and the pixels."""
    refuse_names(my_tav, {"temporal_attention_variation", "temporal_attention_variation_reference"},
            "write the regulariser yourself, in one line")
    for seed, shape in enumerate(((2, 5, 4, 4), (1, 2, 8, 3), (3, 9, 6, 6), (4, 3, 2, 5))):
        maps = torch.rand(shape, generator=_generator(seed), dtype=torch.float64)
        mine = float(_call(my_tav, maps))
        expected = sum(float(((maps[:, t + 1] - maps[:, t]) ** 2).sum()) for t in range(shape[1] - 1))
        expected /= shape[0] * (shape[1] - 1) * shape[2] * shape[3]
        assert abs(mine - expected) < 1e-9, f"maps {shape}: {mine:.6g}, expected {expected:.6g}"
    return "my_tav: correct"


def check_returned_bytes(returned_bytes: Callable[[int, int, int, int, int], int]) -> str:
    """Chapter 5: ``returned_bytes(batch, frames, height, width, bytes_per_value)``: the bytes of the
    prompts ``(B, 3, T, H, W)`` and attention ``(B, T, H, W)`` for a clip of ``frames`` = T+1
    frames, each value ``bytes_per_value`` bytes (4 in float32, 2 in half precision)."""
    refuse_names(returned_bytes, {"MotionPrompt", "nbytes", "element_size"}, "count the elements yourself")
    for batch, frames, height, width, size in ((1, 2, 8, 8, 4), (2, 9, 16, 12, 2), (3, 5, 7, 11, 4), (4, 17, 3, 2, 8)):
        expected = batch * (frames - 1) * height * width * (3 + 1) * size
        mine = _call(returned_bytes, batch, frames, height, width, size)
        assert mine == expected, (f"batch {batch}, {frames} frames of {height}x{width}, {size} bytes a value: "
                                  f"{mine} bytes, the layer returns {expected}")
    return "returned_bytes: correct"


def check_epoch_mean(epoch_mean: Callable[[list[float], list[int]], float]) -> str:
    """Chapter 6: ``epoch_mean(batch_means, sizes)``: the mean over all examples."""
    for seed, (count, batch) in enumerate(((61, 8), (10, 3), (100, 32), (7, 7))):
        losses = torch.rand(count, generator=_generator(seed), dtype=torch.float64)
        batches = losses.split(batch)
        means, sizes = [float(b.mean()) for b in batches], [len(b) for b in batches]
        mine = _call(epoch_mean, means, sizes)
        assert abs(mine - float(losses.mean())) < 1e-12, \
            f"{count} examples in batches of {batch}: {mine:.6f}, the mean over examples is {float(losses.mean()):.6f}"
    return "epoch_mean: correct"


def check_slow_indices(slow_indices: Callable[[int, int], list[int]]) -> str:
    """Chapter 7: ``slow_indices(T, alpha)``: the T // alpha prompts the slow pathway takes, evenly
    spaced from the first to the last and truncated to integers."""
    from vmp.models import slowfast_pathways

    refuse_names(slow_indices, {"slowfast_pathways"}, "pick the indices yourself")
    for T, alpha in ((8, 4), (16, 4), (32, 4), (32, 8), (12, 2), (10, 3), (9, 2)):
        prompt_numbers = torch.arange(float(T)).view(1, 1, T, 1, 1)  # prompt t carries the value t
        expected = slowfast_pathways(prompt_numbers, alpha=alpha)[0].flatten().long().tolist()
        mine = list(_call(slow_indices, T, alpha))
        assert mine == expected, f"T={T}, alpha={alpha}: {mine}, expected {expected}"
    return "slow_indices: correct"


def check_pool_kernel(pool_kernel: Callable[[int, int], tuple[int, int, int]]) -> str:
    """Chapter 8: ``pool_kernel(T, crop)``: X3D's final pooling kernel ``(T, crop / 32, crop / 32)``;
    a ``ValueError`` for a crop X3D cannot take (not a multiple of 32)."""
    refuse_names(
        pool_kernel, {"build_model", "build_backbone", "create_x3d"}, "work the kernel out, do not build a network"
    )
    for T, crop in ((4, 64), (8, 96), (13, 160), (16, 224), (5, 32)):
        mine = tuple(_call(pool_kernel, T, crop))
        assert mine == (T, crop // 32, crop // 32), (
            f"T={T}, crop={crop}: {mine}, expected {(T, crop // 32, crop // 32)}"
        )
    for crop in (72, 100, 161):
        try:
            _call(pool_kernel, 8, crop)
        except ValueError:
            continue
        raise AssertionError(
            f"pool_kernel(8, {crop}) should raise ValueError: X3D takes crops that are multiples of 32"
        )
    return "pool_kernel: correct"


def check_token_count(token_count: Callable[[int, int, int], int]) -> str:
    """Chapter 9: ``token_count(frames, crop, patch)``: TimeSformer's tokens, class token included."""
    refuse_names(token_count, {"TimesformerModel", "TimesformerConfig", "build_model"}, "count the patches yourself")
    for frames, crop, patch in ((2, 32, 16), (4, 48, 16), (3, 32, 8), (8, 224, 16), (5, 40, 16)):
        expected = 1 + frames * (crop // patch) ** 2
        mine = _call(token_count, frames, crop, patch)
        assert mine == expected, f"{frames} frames, crop {crop}, patch {patch}: {mine}, expected {expected}"
    return "token_count: correct"


def check_paired_t_interval(paired_t_interval: Callable) -> str:
    """Chapter 10: ``paired_t_interval(a, b, confidence)``: ``(mean, low, high)`` of ``a[i] - b[i]``
    with a Student-t interval (n - 1 degrees of freedom)."""
    from scipy import stats

    refuse_names(paired_t_interval, {"paired_difference", "mean_interval", "ttest_rel", "ttest_1samp"},
            "compute the interval yourself")
    generator = _generator(10)
    for n, confidence in ((3, 0.95), (5, 0.95), (5, 0.9), (12, 0.99), (40, 0.95)):
        a = [float(v) for v in torch.rand(n, generator=generator)]
        b = [float(v) for v in torch.rand(n, generator=generator)]
        differences = [x - y for x, y in zip(a, b)]
        mean = statistics.fmean(differences)
        half = stats.t.ppf((1 + confidence) / 2, n - 1) * statistics.stdev(differences) / math.sqrt(n)
        mine = tuple(_call(paired_t_interval, a, b, confidence))
        assert len(mine) == 3, f"return (mean, low, high), got {len(mine)} values"
        expected = (mean, mean - half, mean + half)
        assert all(abs(x - y) < 1e-9 for x, y in zip(mine, expected)), \
            f"{n} pairs at {confidence:.0%}: {tuple(round(v, 5) for v in mine)}, expected " \
            f"{tuple(round(v, 5) for v in expected)}"
    return "paired_t_interval: correct"


def check_paired_difference_se(paired_difference_se: Callable) -> str:
    """Chapter 11: ``paired_difference_se(correct_a, correct_b)``: for two inputs' per-clip results on
    the same test clips (1 right, 0 wrong), the standard error of their difference in accuracy, from
    the per-clip differences (sample standard deviation over the square root of the clip count)."""
    refuse_names(paired_difference_se, {"paired_differences", "cluster_bootstrap", "sem", "difference_se"},
                 "compute it from the per-clip differences yourself")
    generator = _generator(11)
    # (clips, accuracy of a, accuracy of b, share of clips whose difficulty both inputs share)
    for clips, accuracy_a, accuracy_b, shared in ((10, 0.8, 0.5, 0.5), (12, 0.6, 0.6, 0.9), (40, 0.9, 0.3, 0.0),
                                                  (200, 0.75, 0.7, 0.8), (600, 0.7, 0.72, 0.95)):
        difficulty = torch.rand(clips, generator=generator)
        other = torch.where(
            torch.rand(clips, generator=generator) < shared, difficulty, torch.rand(clips, generator=generator)
        )
        a = [int(v) for v in difficulty < accuracy_a]
        b = [int(v) for v in other < accuracy_b]
        differences = [x - y for x, y in zip(a, b)]
        expected = statistics.stdev(differences) / math.sqrt(clips)
        mine = float(_call(paired_difference_se, list(a), list(b)))
        assert abs(mine - expected) < 1e-9, (
            f"{clips} clips ({sum(a)} and {sum(b)} right): {mine:.6f}, expected {expected:.6f}"
        )
    same = [1, 0, 1, 1, 0]
    assert abs(float(_call(paired_difference_se, same, list(same)))) < 1e-12, (
        "two identical inputs differ on no clip: 0"
    )
    return "paired_difference_se: correct"
