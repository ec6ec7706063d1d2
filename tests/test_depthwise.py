"""The depthwise convolutions' faster CPU backward gives the standard gradients."""

import pytest
import torch
from torch import nn

from vmp.models import build_model
from vmp.models.depthwise import DepthwiseConv3d, fast_depthwise, is_plain_depthwise

# (channels, kernel, stride, padding): X3D's 3x3x3 blocks, strided and not, and its stem's 5x1x1
CASES = [(4, (3, 3, 3), (1, 1, 1), (1, 1, 1)), (4, (3, 3, 3), (1, 2, 2), (1, 1, 1)),
         (3, (5, 1, 1), (1, 1, 1), (2, 0, 0)), (2, (3, 3, 3), (2, 2, 2), (0, 1, 0))]


def pair(channels: int, kernel: tuple, stride: tuple, padding: tuple, dtype: torch.dtype) -> tuple:
    """A standard depthwise Conv3d and its fast copy, sharing one weight."""
    torch.manual_seed(0)
    standard = nn.Conv3d(channels, channels, kernel, stride, padding, groups=channels, bias=False).to(dtype)
    container = nn.Sequential(standard)
    assert fast_depthwise(container) == 1
    return standard, container[0]


@pytest.mark.parametrize("channels, kernel, stride, padding", CASES)
def test_gradients_pass_gradcheck(channels, kernel, stride, padding):
    _, fast = pair(channels, kernel, stride, padding, torch.float64)
    clips = torch.randn(2, channels, 6, 7, 8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(fast, (clips,))


@pytest.mark.parametrize("channels, kernel, stride, padding", CASES)
def test_forward_and_gradients_equal_the_standard_convolution(channels, kernel, stride, padding):
    standard, fast = pair(channels, kernel, stride, padding, torch.float32)
    clips = torch.randn(3, channels, 8, 9, 10, requires_grad=True)
    results = []
    for module in (standard, fast):
        clips.grad, module.weight.grad = None, None
        output = module(clips)
        output.backward(torch.linspace(-1, 1, output.numel()).reshape(output.shape))
        results.append((output.detach(), clips.grad.clone(), module.weight.grad.clone()))
    (out_a, input_a, weight_a), (out_b, input_b, weight_b) = results
    assert torch.equal(out_a, out_b)  # the forward pass is the same kernel
    assert torch.allclose(input_a, input_b, rtol=1e-5, atol=1e-5)
    assert torch.allclose(weight_a, weight_b, rtol=1e-5, atol=1e-4)


def test_only_plain_depthwise_convolutions_are_swapped():
    network = nn.Sequential(
        nn.Conv3d(4, 4, 3, padding=1, groups=4, bias=False),  # swapped
        nn.Conv3d(4, 4, 3, padding=1, groups=4, bias=True),  # a bias: kept
        nn.Conv3d(4, 8, 3, padding=1, groups=4, bias=False),  # two kernels a channel: kept
        nn.Conv3d(4, 4, 3, padding=2, dilation=2, groups=4, bias=False),  # dilated: kept
        nn.Conv3d(4, 4, 3, padding=1, bias=False),  # a full convolution: kept
    )
    keys = list(network.state_dict())
    assert [is_plain_depthwise(m) for m in network] == [True, False, False, False, False]
    assert fast_depthwise(network) == 1
    assert isinstance(network[0], DepthwiseConv3d)
    assert list(network.state_dict()) == keys
    assert fast_depthwise(network) == 0  # already swapped


def test_x3d_takes_the_fast_backward_and_keeps_its_state_dict_keys():
    model = build_model("x3d_xs", 4, 4, 32, input="vmp", weights=None)
    swapped = [m for m in model.modules() if isinstance(m, DepthwiseConv3d)]
    assert len(swapped) >= 10  # every block's 3x3x3 and the stem's temporal convolution
    assert not any(is_plain_depthwise(m) for m in model.modules())
    keys = set(model.state_dict())
    assert all(f"{name}.weight" in keys for name, m in model.named_modules() if isinstance(m, DepthwiseConv3d))


def test_autocast_takes_the_standard_route():
    _, fast = pair(4, (3, 3, 3), (1, 1, 1), (1, 1, 1), torch.float32)
    clips = torch.randn(1, 4, 4, 5, 5)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        output = fast(clips)
    assert output.dtype == torch.bfloat16 and "DepthwiseConv3dFunction" not in output.grad_fn.name()
    assert "DepthwiseConv3dFunction" in fast(clips).grad_fn.name()  # outside autocast: the fast route
