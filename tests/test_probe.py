"""The linear probe of benchmarks/probe.py: it captures the head's input and fits a separable task."""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import probe


def test_features_are_the_input_of_the_last_linear_layer():
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    dataset = [(torch.randn(2, 2), label) for label in (0, 1, 1)]
    x, y = probe.features(model, dataset)
    expected = torch.stack([model[:3](clip.unsqueeze(0))[0] for clip, _ in dataset])
    assert torch.allclose(x, expected) and y.tolist() == [0, 1, 1]


def separable_task() -> tuple[torch.Tensor, torch.Tensor]:
    """200 points in 5 dimensions, labelled by the sign of the first coordinate."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(200, 5, generator=generator)
    return x, (x[:, 0] > 0).long()


def separable_probe_accuracy() -> float:
    """Training accuracy of the loosely regularised probe on :func:`separable_task` (also measured on
    other code paths by ``benchmarks/stochastic_margins.py``)."""
    x, y = separable_task()
    return float((probe.fit_probe((x, y), 1e-4, 2)(x).argmax(1) == y).float().mean())


def test_probe_fits_a_linearly_separable_task_and_weight_decay_shrinks_it():
    x, y = separable_task()
    loose, tight = (probe.fit_probe((x, y), decay, 2) for decay in (1e-4, 1.0))
    assert (loose(x).argmax(1) == y).float().mean() > 0.97
    assert tight.weight.norm() < loose.weight.norm()
