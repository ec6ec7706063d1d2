"""The VMP layer against an independent float64 transcription of the paper's equations."""

from __future__ import annotations

import math

import pytest
import torch

from vmp import MotionPrompt, MotionPromptOutput, temporal_attention_variation
from vmp.profiling import peak_allocated_bytes
from vmp.reference import authors_motion_prompt

SIZES = {"B": 2, "C": 3, "T": 5, "H": 6, "W": 7}


def make_clip(layout: str, seed: int = 0, dtype: torch.dtype = torch.float32, **sizes: int) -> torch.Tensor:
    shape = [{**SIZES, **sizes}[axis] for axis in layout]
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def equations_float64(clip, layout, mean, std, channels, m, n):
    """The paper's equations written out directly, in float64, on a BCTHW copy."""
    x = clip.double().permute(*(layout.index(a) for a in "BCTHW"))
    pixels = x * torch.tensor(std, dtype=torch.float64).view(1, 3, 1, 1, 1) + torch.tensor(
        mean, dtype=torch.float64
    ).view(1, 3, 1, 1, 1)
    red, green, blue = (pixels[:, i] for i in ((0, 1, 2) if channels == "RGB" else (2, 1, 0)))
    gray = 0.299 * red + 0.587 * green + 0.114 * blue
    difference = gray[:, 1:] - gray[:, :-1]
    a = 5 / (0.45 * abs(math.tanh(m)) + 0.1)
    b = 0.6 * math.tanh(n)
    attention = 1 / (1 + torch.exp(-a * (difference - b)))
    prompts = x[:, :, 1:] * attention[:, None]
    return prompts.permute(*("BCTHW".index(a) for a in layout)), attention


@pytest.mark.parametrize("layout", ["BCTHW", "BTCHW", "TBHWC"])
@pytest.mark.parametrize("channels", ["RGB", "BGR"])
def test_matches_equations(layout, channels):
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    layer = MotionPrompt(layout=layout, mean=mean, std=std, channels=channels, m=0.3, n=-0.2)
    clip = make_clip(layout)
    prompts, attention = layer(clip)
    want_prompts, want_attention = equations_float64(clip, layout, mean, std, channels, 0.3, -0.2)
    assert prompts.shape == want_prompts.shape and attention.shape == (2, 4, 6, 7)
    torch.testing.assert_close(attention.double(), want_attention, atol=2e-6, rtol=0)
    torch.testing.assert_close(prompts.double(), want_prompts, atol=1e-5, rtol=1e-5)


def test_channel_order_matters():
    """RGB and BGR weight different channels: the authors' bug would show up here."""
    clip = make_clip("BCTHW")
    rgb = MotionPrompt(channels="RGB", m=0.5, n=0.0)(clip).attention
    bgr = MotionPrompt(channels="BGR", m=0.5, n=0.0)(clip).attention
    assert (rgb - bgr).abs().max() > 1e-2


def test_returns_named_tuple_in_input_layout():
    clip = make_clip("BTCHW")
    out = MotionPrompt(layout="BTCHW")(clip)
    assert isinstance(out, MotionPromptOutput)
    assert out.prompts.shape == (2, 4, 3, 6, 7)
    assert out.prompts.is_contiguous(), "prompts should be laid out for the backbone"
    assert out.prompts.dtype == clip.dtype
    assert 0 <= out.attention.min() and out.attention.max() <= 1


@pytest.mark.parametrize("layout", ["BCTHW", "BTCHW"])
def test_agrees_with_authors_formulation(layout):
    """With their assumptions (BGR, 0.45/0.225) the layer computes what the released code does."""
    layer = MotionPrompt(layout=layout, channels="BGR")
    clip = make_clip(layout, seed=3)
    prompts, attention = layer(clip)
    their_prompts, their_attention, their_tav = authors_motion_prompt(clip, layer.m, layer.n, layout)
    torch.testing.assert_close(prompts, their_prompts, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(attention, their_attention, atol=1e-6, rtol=0)
    torch.testing.assert_close(temporal_attention_variation(attention), their_tav, atol=1e-7, rtol=1e-5)


def test_slope_and_shift_properties():
    layer = MotionPrompt(m=0.7, n=-1.3)
    assert isinstance(layer.slope, torch.Tensor) and isinstance(layer.shift, torch.Tensor)
    assert layer.slope.item() == pytest.approx(5 / (0.45 * math.tanh(0.7) + 0.1), rel=1e-6)
    assert layer.shift.item() == pytest.approx(0.6 * math.tanh(-1.3), rel=1e-6)
    with pytest.raises(AttributeError):
        layer.slope = torch.tensor(3.0)
    for value in (-50.0, -1.0, 0.0, 2.0, 50.0):
        bounded = MotionPrompt(m=value, n=value)
        assert 5 / 0.55 - 1e-4 <= bounded.slope.item() <= 50 + 1e-4
        assert abs(bounded.shift.item()) <= 0.6 + 1e-6  # 0.6 itself rounds up in float32


def test_m_n_for_inverts_the_bounded_parametrisation():
    from vmp.prompt import m_n_for

    for slope, shift in ((9.5, -0.59), (20.0, 0.1), (50.0, 0.0)):
        m, n = m_n_for(slope, shift, learnable=slope < 50)
        layer = MotionPrompt(m=m, n=n)
        assert layer.slope.item() == pytest.approx(slope, rel=1e-5)
        assert layer.shift.item() == pytest.approx(shift, abs=1e-6)
    with pytest.raises(ValueError, match="slope must be in"):
        m_n_for(5.0, 0.0)
    with pytest.raises(ValueError, match="shift must be in"):
        m_n_for(20.0, 0.6)
    with pytest.raises(ValueError, match="cusp of a\\(m\\) at m = 0.*learnable=False"):
        m_n_for(50.0, 0.1)


def _fit_slope(m: float, n: float, steps: int = 60) -> float:
    """Fit a layer's attention to a gentler gate (slope 15) on a random clip; return its final slope."""
    torch.manual_seed(0)
    clip = torch.randn(2, 3, 5, 16, 16)
    target = torch.sigmoid(15 * (MotionPrompt(m=0.0, n=0.0)(clip).attention.detach().logit() / 50 - 0.05))
    layer = MotionPrompt(m=m, n=n)
    optimizer = torch.optim.Adam(layer.parameters(), lr=0.02)
    for _ in range(steps):
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(layer(clip).attention, target).backward()
        optimizer.step()
    return layer.slope.item()


def test_a_layer_started_at_default_start_learns_its_slope_and_one_at_the_cusp_cannot():
    from vmp.prompt import DEFAULT_START, m_n_for

    m, n = m_n_for(*DEFAULT_START)
    assert m != 0.0
    learned = _fit_slope(m, n)
    assert abs(learned - DEFAULT_START[0]) > 3 and abs(learned - 15) < abs(DEFAULT_START[0] - 15)
    # the trap m_n_for refuses: at m = 0 autograd's gradient of |tanh m| is 0, so the slope never moves
    assert _fit_slope(0.0, n) == 50.0


def test_default_initialisation_is_normal_around_1e_minus_5():
    torch.manual_seed(0)
    draws = torch.stack([torch.stack([layer.m, layer.n]) for layer in (MotionPrompt() for _ in range(2000))])
    assert draws.mean().abs() < 0.05  # N(1e-5, 1): sample mean of 4000 draws has sd 0.016
    assert 0.95 < draws.std() < 1.05
    assert MotionPrompt().m.requires_grad and MotionPrompt().m.shape == ()


def test_learnable_parameters_are_exactly_m_and_n():
    assert [name for name, _ in MotionPrompt().named_parameters()] == ["m", "n"]
    assert set(MotionPrompt().state_dict()) == {"m", "n"}


def test_gradcheck_float64():
    layer = MotionPrompt(layout="BTCHW", m=0.4, n=0.1).double()
    clip = make_clip("BTCHW", dtype=torch.float64, B=1, T=4, H=3, W=3).requires_grad_(True)
    m = layer.m.detach().clone().requires_grad_(True)
    n = layer.n.detach().clone().requires_grad_(True)

    def prompts_and_tav(clip, m, n):
        prompts, attention = torch.func.functional_call(layer, {"m": m, "n": n}, (clip,))
        return prompts, temporal_attention_variation(attention)

    assert torch.autograd.gradcheck(prompts_and_tav, (clip, m, n))


@pytest.mark.parametrize("layout", ["BCTHW", "BTCHW"])
def test_second_derivatives_are_right_with_respect_to_the_clip_m_and_n(layout):
    """Double backward (a gradient penalty, meta-learning) differentiates the layer's backward pass."""
    layer = MotionPrompt(layout=layout, m=0.4, n=0.1).double()
    clip = make_clip(layout, dtype=torch.float64, B=1, T=4, H=3, W=3).requires_grad_(True)
    m = layer.m.detach().clone().requires_grad_(True)
    n = layer.n.detach().clone().requires_grad_(True)

    def prompts_and_attention(clip, m, n):
        return tuple(torch.func.functional_call(layer, {"m": m, "n": n}, (clip,)))

    assert torch.autograd.gradgradcheck(prompts_and_attention, (clip, m, n))


def test_the_double_backward_path_gives_the_first_order_paths_gradients():
    layer = MotionPrompt(m=0.4, n=0.1).double()
    clip = make_clip("BCTHW", dtype=torch.float64).requires_grad_(True)
    prompts, attention = layer(clip)
    loss = prompts.square().mean() + temporal_attention_variation(attention)
    fast = torch.autograd.grad(loss, (clip, layer.m, layer.n), retain_graph=True)
    graph = torch.autograd.grad(loss, (clip, layer.m, layer.n), create_graph=True)
    assert all(g.grad_fn is not None for g in graph)
    for first, second in zip(fast, graph):
        torch.testing.assert_close(first, second, atol=1e-12, rtol=1e-10)


def test_gradients_reach_m_and_n_in_training():
    layer = MotionPrompt()
    prompts, attention = layer(make_clip("BCTHW"))
    (prompts.square().mean() + temporal_attention_variation(attention)).backward()
    assert layer.m.grad is not None and layer.m.grad.abs() > 0
    assert layer.n.grad is not None and layer.n.grad.abs() > 0


def test_tav_is_the_mean_squared_change_between_consecutive_maps():
    attention = torch.rand(3, 5, 4, 4, generator=torch.Generator().manual_seed(1))
    by_hand = sum(((attention[:, t + 1] - attention[:, t]) ** 2).sum() for t in range(4)) / (3 * 4 * 4 * 4)
    torch.testing.assert_close(temporal_attention_variation(attention), by_hand)
    constant = torch.full((2, 3, 4, 4), 0.3)
    assert temporal_attention_variation(constant).item() == 0.0


def test_forward_memory_is_outputs_only():
    """Autograd keeps nothing but the outputs: no repeated attention, no de-normalised copy."""
    layer = MotionPrompt()
    clip = make_clip("BCTHW", B=2, T=9, H=32, W=32)
    peak, (prompts, attention) = peak_allocated_bytes(lambda: layer(clip))
    returned = prompts.numel() * prompts.element_size() + attention.numel() * attention.element_size()
    gray = clip.numel() // 3 * clip.element_size()
    assert peak <= returned + gray  # the grayscale is freed before the prompts are allocated
    assert peak <= 1.5 * returned
    authors_peak, _ = peak_allocated_bytes(lambda: authors_motion_prompt(clip, layer.m, layer.n))
    assert authors_peak > 2.5 * returned


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_other_floating_dtypes(dtype):
    clip = make_clip("BCTHW")
    layer = MotionPrompt(m=0.2, n=0.1)
    want = layer(clip).attention
    out = layer.to(dtype if dtype == torch.float64 else torch.float32)(clip.to(dtype))
    assert out.prompts.dtype == dtype and out.attention.dtype == dtype
    tolerance = {torch.float16: 2e-2, torch.bfloat16: 1e-1, torch.float64: 1e-6}[dtype]
    torch.testing.assert_close(out.attention.float(), want, atol=tolerance, rtol=0)


def test_autocast_keeps_the_difference_in_input_precision():
    clip = make_clip("BCTHW")
    layer = MotionPrompt(m=0.2, n=0.1)
    want = layer(clip)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = layer(clip)
    assert got.attention.dtype == torch.float32
    torch.testing.assert_close(got.attention, want.attention)
    torch.testing.assert_close(got.prompts, want.prompts)


def test_torch_compile_matches_eager():
    layer = MotionPrompt(m=0.3, n=0.2)
    compiled = torch.compile(layer)
    clip = make_clip("BCTHW")
    eager_out = layer(clip)
    compiled_out = compiled(clip)
    torch.testing.assert_close(compiled_out.prompts, eager_out.prompts)
    torch.testing.assert_close(compiled_out.attention, eager_out.attention)
    temporal_attention_variation(compiled_out.attention).backward()
    assert layer.m.grad is not None and layer.n.grad is not None


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_cuda_matches_cpu_and_runs_under_autocast():
    layer = MotionPrompt(m=0.3, n=0.2)
    clip = make_clip("BCTHW")
    want = layer(clip)
    gpu_layer = layer.cuda()
    got = gpu_layer(clip.cuda())
    torch.testing.assert_close(got.attention.cpu(), want.attention, atol=1e-5, rtol=0)
    with torch.autocast("cuda", dtype=torch.float16):
        mixed = gpu_layer(clip.cuda())
    torch.testing.assert_close(mixed.attention.cpu(), want.attention, atol=1e-5, rtol=0)


BAD_CLIPS = {
    "4-D": (torch.zeros(2, 3, 5, 6), "5-D"),
    "6-D": (torch.zeros(1, 2, 3, 5, 6, 7), "5-D"),
    "one frame": (torch.zeros(2, 3, 1, 6, 7), "at least 2 frames"),
    "four channels": (torch.zeros(2, 4, 5, 6, 7), "3 channels"),
    "one channel": (torch.zeros(2, 1, 5, 6, 7), "3 channels"),
    "uint8": (torch.zeros(2, 3, 5, 6, 7, dtype=torch.uint8), "floating point"),
    "int64": (torch.zeros(2, 3, 5, 6, 7, dtype=torch.int64), "floating point"),
    "not a tensor": ([[0.0]], "torch.Tensor"),
}


@pytest.mark.parametrize("case", sorted(BAD_CLIPS))
def test_bad_clips_are_rejected_with_the_problem_named(case):
    clip, message = BAD_CLIPS[case]
    with pytest.raises(ValueError, match=message):
        MotionPrompt()(clip)


def test_bad_clip_message_names_the_shape():
    with pytest.raises(ValueError, match=r"\(2, 3, 1, 6, 7\)"):
        MotionPrompt()(torch.zeros(2, 3, 1, 6, 7))
    with pytest.raises(ValueError, match="axis 2 of layout BTCHW"):
        MotionPrompt(layout="BTCHW")(torch.zeros(2, 5, 4, 6, 7))


@pytest.mark.parametrize("layout", ["BCTH", "BCTHX", "BBTHW", "BCTHWW", "", 5])
def test_bad_layouts_are_rejected(layout):
    with pytest.raises(ValueError, match="permutation of 'BCTHW'|must be a string"):
        MotionPrompt(layout=layout)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"channels": "RGBA"}, "channels"),
        ({"channels": "rgb"}, "channels"),
        ({"mean": (0.5, 0.5)}, "mean needs one value per channel"),
        ({"std": (0.2, 0.2, 0.2, 0.2)}, "std needs one value per channel"),
        ({"std": (0.2, 0.0, 0.2)}, "std must be positive"),
    ],
)
def test_bad_constructor_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MotionPrompt(**kwargs)


@pytest.mark.parametrize(
    "attention, message",
    [
        (torch.zeros(2, 1, 4, 4), "at least 2 attention maps"),
        (torch.zeros(2, 4, 4), "4-D"),
        (torch.zeros(2, 3, 4, 4, 1), "4-D"),
        (torch.zeros(2, 3, 4, 4, dtype=torch.int32), "floating point"),
    ],
)
def test_bad_tav_input(attention, message):
    with pytest.raises(ValueError, match=message):
        temporal_attention_variation(attention)


def test_two_frame_clip_is_fine_for_the_layer_but_not_for_tav():
    attention = MotionPrompt()(torch.zeros(1, 3, 2, 4, 4)).attention
    assert attention.shape == (1, 1, 4, 4)
    with pytest.raises(ValueError, match="3\\+ frames"):
        temporal_attention_variation(attention)
