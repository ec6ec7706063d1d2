"""Figures for the book: frame strips, signed differences, attention maps and animations.

Needs matplotlib (``pip install vmp[book]``). Every function returns the figure or HTML it makes,
so a chapter can show, save or test it.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch


def _array(image: torch.Tensor | np.ndarray) -> np.ndarray:
    return image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)


def grid(rows: Sequence[Sequence], row_titles: Sequence[str], column_titles: Sequence[str] | None = None,
         kinds: Sequence[str] | None = None, size: float = 1.6, limit: float | None = None):
    """A figure of images, one row per sequence. ``kinds[r]``: ``"rgb"`` (uint8 or [0, 1] floats),
    ``"signed"`` (diverging colours, symmetric around 0, ``limit`` sets the range) or ``"map"`` ([0, 1])."""
    import matplotlib.pyplot as plt

    kinds = kinds or ["rgb"] * len(rows)
    columns = max(len(row) for row in rows)
    figure, axes = plt.subplots(len(rows), columns, figsize=(size * columns, size * len(rows)), squeeze=False)
    for r, (row, kind) in enumerate(zip(rows, kinds)):
        for c in range(columns):
            axis = axes[r][c]
            axis.set_xticks([])
            axis.set_yticks([])
            if c >= len(row):
                axis.axis("off")
                continue
            image = _array(row[c])
            if kind == "signed":
                bound = limit or float(np.abs(image).max()) or 1.0
                axis.imshow(image, cmap="RdBu_r", vmin=-bound, vmax=bound)
            elif kind == "map":
                axis.imshow(image, cmap="magma", vmin=0, vmax=1)
            else:
                axis.imshow(image if image.dtype == np.uint8 else np.clip(image, 0, 1))
            if c == 0:
                axis.set_ylabel(row_titles[r], fontsize=9)
            if column_titles and r == 0:
                axis.set_title(column_titles[c], fontsize=9)
    figure.tight_layout()
    return figure


def animate(panels: dict[str, Sequence], kinds: dict[str, str] | None = None, interval: int = 250, size: float = 2.2,
            limit: float | None = None) -> str:
    """A JavaScript animation (HTML) of several image sequences side by side, one frame at a time."""
    import matplotlib.pyplot as plt
    from matplotlib import animation

    kinds = kinds or {}
    names = list(panels)
    frames = min(len(panels[name]) for name in names)
    figure, axes = plt.subplots(1, len(names), figsize=(size * len(names), size))
    axes = np.atleast_1d(axes)
    images = []
    for axis, name in zip(axes, names):
        first = _array(panels[name][0])
        kind = kinds.get(name, "rgb")
        if kind == "signed":
            bound = limit or max(float(np.abs(_array(f)).max()) for f in panels[name]) or 1.0
            images.append(axis.imshow(first, cmap="RdBu_r", vmin=-bound, vmax=bound))
        elif kind == "map":
            images.append(axis.imshow(first, cmap="magma", vmin=0, vmax=1))
        else:
            images.append(axis.imshow(first))
        axis.set_title(name, fontsize=10)
        axis.axis("off")
    figure.tight_layout()

    def update(index: int):
        for image, name in zip(images, names):
            image.set_data(_array(panels[name][index]))
        return images

    html = animation.FuncAnimation(figure, update, frames=frames, interval=interval, blit=True).to_jshtml(default_mode="loop")
    plt.close(figure)
    return html


def to_unit(clip: torch.Tensor, mean: Sequence[float] = (0.45,) * 3, std: Sequence[float] = (0.225,) * 3) -> torch.Tensor:
    """A normalised ``(C, T, H, W)`` clip back to displayable ``(T, H, W, C)`` values in [0, 1]."""
    mean_t = torch.tensor(mean).view(3, 1, 1, 1)
    std_t = torch.tensor(std).view(3, 1, 1, 1)
    return (clip.detach().cpu() * std_t + mean_t).clamp(0, 1).permute(1, 2, 3, 0)


def learning_curves(histories: dict[str, Sequence[dict]], chance: float | None = None):
    """Training cross-entropy and validation top-1 per epoch, one line per run (each a
    :func:`vmp.train.fit` history), with chance level marked if given."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    for name, history in histories.items():
        epochs = [record["epoch"] for record in history]
        axes[0].plot(epochs, [record["train_ce"] for record in history], "o-", ms=3, label=name)
        axes[1].plot(epochs, [record["val_top1"] for record in history], "o-", ms=3, label=name)
    if chance is not None:
        axes[1].axhline(chance, color="gray", ls="--", lw=1, label="chance")
    axes[0].set_title("training cross-entropy")
    axes[1].set_title("validation top-1")
    for axis in axes:
        axis.set_xlabel("epoch")
    axes[1].legend(fontsize=8)
    figure.tight_layout()
    return figure
