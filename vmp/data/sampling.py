"""Which frames make a clip: T+1 frames at a sampling rate, placed at random or for evaluation.

A clip spans ``(frames - 1) * rate + 1`` frames of the video. A video shorter than that repeats
its last frame, so every clip has the same length and the last differences are zero (no motion),
never wrapped-around footage.
"""

from __future__ import annotations

import torch

MODES = ("random", "center", "uniform")


def clip_span(frames: int, rate: int) -> int:
    """How many video frames a clip of ``frames`` frames at ``rate`` covers."""
    return (frames - 1) * rate + 1


def clip_indices(
    num_frames: int,
    frames: int,
    rate: int = 1,
    mode: str = "random",
    views: int = 1,
    generator: torch.Generator | None = None,
) -> list[list[int]]:
    """Frame indices of ``views`` clips of ``frames`` frames (T+1) each, every ``rate``-th frame.

    ``random``: one clip at a uniformly random start (training; ``views`` must be 1).
    ``center``: one clip in the middle (evaluation).
    ``uniform``: ``views`` clips with starts spread evenly from first to last (multi-view testing).
    """
    if num_frames < 1:
        raise ValueError(f"a video needs at least one frame, got {num_frames}")
    if frames < 1 or rate < 1 or views < 1:
        raise ValueError(f"frames, rate and views must be positive, got {frames}, {rate}, {views}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if mode != "uniform" and views != 1:
        raise ValueError(f"mode {mode!r} gives one view; use mode='uniform' for {views} views")
    slack = max(num_frames - clip_span(frames, rate), 0)
    if mode == "random":
        starts = [int(torch.randint(slack + 1, (), generator=generator))]
    elif mode == "center":
        starts = [slack // 2]
    else:
        starts = [round(slack * v / (views - 1)) if views > 1 else slack // 2 for v in range(views)]
    last = num_frames - 1
    return [[min(start + i * rate, last) for i in range(frames)] for start in starts]
