"""The attention-function family: four power-normalisation (PN) functions beside the paper's sigmoid.

The authors' project page compares its sigmoid attention with four PN functions from Koniusz and
Zhang (TPAMI 2021), applied to frame differences. Their forms in that literature, for a response
``p`` in [0, 1], and the surrogate pairs the paper derives (SigmE for MaxExp, AsinhE for Gamma,
whose derivative is infinite at 0):

    gamma    p ** gamma                       gamma in (0.05, 2)
    maxexp   1 - (1 - p) ** eta               eta   in (0.5, 100)
    sigme    2 / (1 + exp(-eta p)) - 1        eta   in (1, 200)
    asinhe   asinh(gamma p) / asinh(gamma)    gamma in (1, 1000)

**Sign and range.** The functions are defined for non-negative responses, and the attention must
stay in [0, 1] (it scales a frame), so the book feeds them the magnitude ``p = |D_t|`` of the
signed gray difference, clipped to [0, 1]: brightening and darkening count alike. (The sigmoid
instead sees the signed ``D_t``; with a positive shift it attends to brightening only.) AsinhE is
divided by ``asinh(gamma)`` so that ``p = 1`` maps to 1, like the other three; that changes its
scale, not its shape.

**Parameters.** Each function has one learnable scalar, kept inside its interval by a tanh, the way
the sigmoid's slope and shift are: ``value = low + (high - low) (1 + tanh r) / 2``. The intervals
contain the PN literature's concave regime (gamma < 1, eta > 1: small responses are boosted) and,
for Gamma and MaxExp, a convex end (gamma > 1, eta < 1: small responses are suppressed), so that
learning can move either way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

#: Every attention function :class:`vmp.MotionPrompt` accepts; the first is the paper's.
FUNCTIONS = ("sigmoid", "gamma", "maxexp", "sigme", "asinhe")

#: Keeps logarithms finite in the parameters' gradients (``d p^g / dg = p^g ln p``) at p = 0 or 1.
EPS = 1e-6


def _gamma(p: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
    return p.clamp_min(EPS).pow(gamma)


def _maxexp(p: torch.Tensor, eta: torch.Tensor) -> torch.Tensor:
    return 1 - (1 - p).clamp_min(EPS).pow(eta)


def _sigme(p: torch.Tensor, eta: torch.Tensor) -> torch.Tensor:
    return 2 * torch.sigmoid(eta * p) - 1


def _asinhe(p: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
    return torch.asinh(gamma * p) / torch.asinh(gamma)


@dataclass(frozen=True)
class PNFunction:
    """One PN function: its formula, its parameter's name, interval and starting value."""

    name: str
    formula: str
    parameter: str
    low: float
    high: float
    start: float
    apply: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


#: The four PN functions by name, with the intervals and starting values the book uses.
PN_FUNCTIONS = {
    "gamma": PNFunction("gamma", "p^γ", "gamma", 0.05, 2.0, 0.5, _gamma),
    "maxexp": PNFunction("maxexp", "1 - (1 - p)^η", "eta", 0.5, 100.0, 10.0, _maxexp),
    "sigme": PNFunction("sigme", "2 / (1 + e^(-η p)) - 1", "eta", 1.0, 200.0, 20.0, _sigme),
    "asinhe": PNFunction("asinhe", "asinh(γ p) / asinh(γ)", "gamma", 1.0, 1000.0, 100.0, _asinhe),
}


def bounded(raw: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """``low + (high - low) (1 + tanh raw) / 2``: a value in (low, high), smooth in ``raw``."""
    return low + (high - low) * (1 + torch.tanh(raw)) / 2


def unbounded(value: float, low: float, high: float) -> float:
    """The ``raw`` that :func:`bounded` maps to ``value``; ``value`` must lie strictly inside."""
    if not low < value < high:
        raise ValueError(f"value must lie in ({low}, {high}), got {value}")
    return math.atanh(2 * (value - low) / (high - low) - 1)


class PowerNormalisation(nn.Module):
    """Attention ``f(|D|)`` from a signed gray difference ``D`` with one learnable, bounded parameter.

    Args:
        function: ``"gamma"``, ``"maxexp"``, ``"sigme"`` or ``"asinhe"`` (see :data:`PN_FUNCTIONS`).
        value: the parameter's initial value inside its interval; the function's ``start`` if None.
    """

    def __init__(self, function: str, value: float | None = None) -> None:
        super().__init__()
        if function not in PN_FUNCTIONS:
            raise ValueError(f"unknown PN function {function!r}; choose one of {sorted(PN_FUNCTIONS)}")
        self.spec = PN_FUNCTIONS[function]
        value = self.spec.start if value is None else float(value)
        if not self.spec.low < value < self.spec.high:
            raise ValueError(f"{function}'s {self.spec.parameter} must lie in ({self.spec.low}, {self.spec.high}), "
                             f"got {value}")
        self.raw = nn.Parameter(torch.tensor(unbounded(value, self.spec.low, self.spec.high)))

    @property
    def value(self) -> torch.Tensor:
        """The effective parameter (γ or η), differentiable with respect to ``raw``."""
        return bounded(self.raw, self.spec.low, self.spec.high)

    def forward(self, difference: torch.Tensor) -> torch.Tensor:
        """Attention in [0, 1] from the signed gray difference (in [0, 1] pixel units)."""
        magnitude = difference.abs().clamp_max(1.0)
        return self.spec.apply(magnitude, self.value.to(difference.dtype))

    def extra_repr(self) -> str:
        return f"{self.spec.name}: {self.spec.formula}, {self.spec.parameter}={self.value.item():.3f}"
