"""The assignments' automatic checks accept a correct solution and name what is wrong in others."""

import pytest
import torch

from vmp.course.checks import check_motion_prompt, check_paired_report
from vmp.stats.paired_t import paired_difference


def correct(clip, slope, shift, mean, std):
    mean_t, std_t = (
        torch.tensor(mean, dtype=clip.dtype).view(1, 3, 1, 1, 1),
        torch.tensor(std, dtype=clip.dtype).view(1, 3, 1, 1, 1),
    )
    pixels = clip * std_t + mean_t
    gray = 0.299 * pixels[:, 0] + 0.587 * pixels[:, 1] + 0.114 * pixels[:, 2]
    attention = torch.sigmoid(slope * (gray[:, 1:] - gray[:, :-1] - shift))
    return clip[:, :, 1:] * attention[:, None], attention


def test_a_correct_layer_passes():
    assert "match" in check_motion_prompt(correct)


def test_wrong_layers_are_named():
    def bgr(clip, slope, shift, mean, std):  # grayscale weights on the wrong channels
        return correct(clip.flip(1), slope, shift, mean[::-1], std[::-1])

    def no_shift_gradient(clip, slope, shift, mean, std):
        return correct(clip, slope, shift.detach(), mean, std)

    with pytest.raises(AssertionError, match="attention differs"):
        check_motion_prompt(bgr)
    with pytest.raises(AssertionError, match="no gradient reached|dL/dshift"):
        check_motion_prompt(no_shift_gradient)


def test_paired_report_must_follow_from_the_runs():
    a = {seed: 0.6 + 0.01 * seed for seed in range(5)}
    b = {seed: 0.5 + 0.02 * (seed % 2) for seed in range(5)}
    truth = paired_difference(a, b)
    assert check_paired_report(a, b, truth[:3]).mean == pytest.approx(truth.mean)
    with pytest.raises(AssertionError, match="reported high"):
        check_paired_report(a, b, (truth.mean, truth.low, truth.high + 0.01))
    with pytest.raises(AssertionError, match="at least 5"):
        check_paired_report({0: 0.5, 1: 0.6}, {0: 0.4, 1: 0.5}, (0.1, 0.1, 0.1))


def test_a_wrapper_around_the_package_layer_is_refused():
    from vmp.prompt import MotionPrompt

    def wrapper(clip, slope, shift, mean, std):
        from vmp.prompt import m_n_for

        layer = MotionPrompt(mean=mean, std=std, m=m_n_for(slope.item(), shift.item())[0],
                             n=m_n_for(slope.item(), shift.item())[1]).double()
        return layer(clip)

    with pytest.raises(AssertionError, match="uses MotionPrompt"):
        check_motion_prompt(wrapper)


def test_an_empty_or_invented_report_is_refused():
    a = {seed: (40 + seed) / 60 for seed in range(5)}
    b = {seed: (36 + 2 * (seed % 2)) / 60 for seed in range(5)}
    with pytest.raises(AssertionError, match="three numbers, got 0"):
        check_paired_report(a, b, ())
    truth = paired_difference(a, b)
    assert check_paired_report(a, b, truth[:3], test_clips=60).mean == pytest.approx(truth.mean)
    with pytest.raises(AssertionError, match="not a whole number of right clips out of 60"):
        check_paired_report({**a, 0: 0.8123}, b, truth[:3], test_clips=60)
    with pytest.raises(AssertionError, match="fractions in"):
        check_paired_report({**a, 0: 81.0}, b, truth[:3])
