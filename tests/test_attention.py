"""The PN attention functions: exact forms, gradients, bounds and errors."""

import math

import numpy as np
import pytest
import torch

from vmp import MotionPrompt
from vmp.attention import PN_FUNCTIONS, PowerNormalisation, bounded, unbounded

MEAN, STD = (0.45, 0.42, 0.40), (0.225, 0.23, 0.22)
PN_NAMES = sorted(PN_FUNCTIONS)


def numpy_attention(clip: np.ndarray, function: str, value: float) -> np.ndarray:
    """An independent re-implementation: de-normalise, BT.601 gray, |difference|, the PN formula."""
    pixels = clip * np.array(STD).reshape(1, 3, 1, 1, 1) + np.array(MEAN).reshape(1, 3, 1, 1, 1)
    gray = 0.299 * pixels[:, 0] + 0.587 * pixels[:, 1] + 0.114 * pixels[:, 2]
    p = np.minimum(np.abs(gray[:, 1:] - gray[:, :-1]), 1.0)
    if function == "gamma":
        return np.maximum(p, 1e-6) ** value
    if function == "maxexp":
        return 1 - np.maximum(1 - p, 1e-6) ** value
    if function == "sigme":
        return 2 / (1 + np.exp(-value * p)) - 1
    return np.arcsinh(value * p) / np.arcsinh(value)


def random_clip(seed: int = 0, shape=(2, 3, 5, 6, 7)) -> torch.Tensor:
    pixels = torch.rand(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return (pixels - torch.tensor(MEAN, dtype=torch.float64).view(1, 3, 1, 1, 1)) / torch.tensor(
        STD, dtype=torch.float64).view(1, 3, 1, 1, 1)


@pytest.mark.parametrize("function", PN_NAMES)
@pytest.mark.parametrize("value_at", [0.2, 0.5, 0.9])
def test_pn_attention_matches_an_independent_implementation(function, value_at):
    spec = PN_FUNCTIONS[function]
    value = spec.low + value_at * (spec.high - spec.low)
    layer = MotionPrompt(mean=MEAN, std=STD, function=function, parameter=value).double()
    assert layer.learned()[spec.parameter] == pytest.approx(value, rel=1e-6)
    value = layer.learned()[spec.parameter]  # the float32-stored parameter, exactly
    clip = random_clip()
    prompts, attention = layer(clip)
    expected = numpy_attention(clip.numpy(), function, value)
    np.testing.assert_allclose(attention.detach().numpy(), expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(
        prompts.detach().numpy(), clip[:, :, 1:].numpy() * expected[:, None], rtol=1e-9, atol=1e-12
    )
    assert attention.min() >= 0 and attention.max() <= 1


@pytest.mark.parametrize("function", PN_NAMES)
def test_pn_gradients_pass_gradcheck_in_float64(function):
    layer = MotionPrompt(mean=MEAN, std=STD, function=function).double()
    clip = random_clip(1, (1, 3, 4, 3, 4))
    # keep every |D| away from 0 (where |.| has a kink) and below 1 (where the clip to [0, 1] has one)
    gray_step = torch.linspace(0.05, 0.3, 3 * 4, dtype=torch.float64).view(1, 1, 1, 3, 4)
    steps = (
        torch.arange(4, dtype=torch.float64).view(1, 1, 4, 1, 1)
        * gray_step
        / torch.tensor(STD, dtype=torch.float64).view(1, 3, 1, 1, 1)
    )
    clip = (clip * 0.01 + steps).requires_grad_(True)

    def attention_and_prompts(frames, parameter):
        return tuple(torch.func.functional_call(layer, {"power_normalisation.raw": parameter}, (frames,)))

    parameter = layer.power_normalisation.raw.detach().clone().requires_grad_(True)
    assert torch.autograd.gradcheck(attention_and_prompts, (clip, parameter), eps=1e-6, atol=1e-6)


def test_bounded_and_unbounded_are_inverse_and_refuse_the_ends():
    for value in (0.06, 0.5, 1.99):
        assert bounded(
            torch.tensor(unbounded(value, 0.05, 2.0), dtype=torch.float64), 0.05, 2.0
        ).item() == pytest.approx(value)
    with pytest.raises(ValueError, match=r"\(0.05, 2.0\)"):
        unbounded(2.0, 0.05, 2.0)


@pytest.mark.parametrize("function", PN_NAMES)
def test_pn_parameter_learns_and_stays_in_its_interval(function):
    torch.manual_seed(0)
    layer = MotionPrompt(function=function)
    spec = layer.power_normalisation.spec
    start = layer.learned()[spec.parameter]
    assert start == pytest.approx(spec.start, rel=1e-5)
    optimizer = torch.optim.SGD(layer.parameters(), lr=50.0)
    clip = torch.randn(2, 3, 4, 8, 8)
    for _ in range(20):  # push the attention down everywhere: the parameter must move, within bounds
        optimizer.zero_grad()
        layer(clip).attention.mean().backward()
        optimizer.step()
    end = layer.learned()[spec.parameter]
    assert end != pytest.approx(start)
    assert spec.low <= end <= spec.high


def test_bad_function_and_parameter_arguments_name_the_problem():
    with pytest.raises(ValueError, match="function must be one of"):
        MotionPrompt(function="relu")
    with pytest.raises(ValueError, match="pass parameter"):
        MotionPrompt(function="gamma", m=0.1)
    with pytest.raises(ValueError, match="not parameter"):
        MotionPrompt(parameter=0.5)
    with pytest.raises(ValueError, match=r"gamma's gamma must lie in \(0.05, 2.0\), got 3.0"):
        MotionPrompt(function="gamma", parameter=3.0)
    with pytest.raises(ValueError, match="unknown PN function"):
        PowerNormalisation("sigmoid")
    with pytest.raises(TypeError, match="no slope"):
        _ = MotionPrompt(function="sigme").slope


def test_sigmoid_stays_the_default_and_reports_slope_and_shift():
    layer = MotionPrompt(m=0.5, n=-0.2)
    assert layer.function == "sigmoid"
    learned = layer.learned()
    assert learned["slope"] == pytest.approx(5 / (0.45 * math.tanh(0.5) + 0.1), rel=1e-6)
    assert learned["shift"] == pytest.approx(0.6 * math.tanh(-0.2), rel=1e-6)


def test_a_pn_model_trains_and_records_its_parameter():
    from vmp.models import build_model
    from vmp.train import TrainConfig, fit

    torch.manual_seed(0)
    model = build_model("tiny3d", 2, frames=4, crop=16, prompt_function="maxexp")
    data = torch.utils.data.TensorDataset(torch.randn(8, 3, 5, 16, 16), torch.arange(8) % 2)
    history = fit(model, data, None, TrainConfig(epochs=1, batch_size=4, lr=1e-2))
    assert math.isnan(history[0]["slope"]) and "eta" in history[0]
    assert 0.5 < history[0]["eta"] < 100
