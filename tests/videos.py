"""Small real video files for the tests, written with PyAV: every frame shows its own index."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from vmp.data.writing import write_video

BITS = 9


def indexed_frames(count: int, height: int = 48, width: int = 96) -> np.ndarray:
    """uint8 (count, H, W, 3): frame i draws i in binary as 9 vertical bars (white = 1)."""
    frames = np.zeros((count, height, width, 3), dtype=np.uint8)
    bar = width // BITS
    for index in range(count):
        for bit in range(BITS):
            if index >> bit & 1:
                frames[index, :, bit * bar : (bit + 1) * bar] = 255
    return frames


def decode_indices(frames: torch.Tensor) -> list[int]:
    """Read back the index drawn in each frame of a (N, H, W, 3) batch."""
    width = frames.shape[2]
    bar = width // BITS
    values = []
    for frame in frames:
        gray = frame.float().mean(-1)
        bits = [gray[:, b * bar + 2 : (b + 1) * bar - 2].mean() > 127 for b in range(BITS)]
        values.append(sum(int(bit) << b for b, bit in enumerate(bits)))
    return values


def write_indexed_video(path: Path, count: int = 40, **size) -> Path:
    return write_video(path, indexed_frames(count, **size), fps=25)
