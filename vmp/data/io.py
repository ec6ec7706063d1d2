"""Frame-accurate video reading: decord first, PyAV as the fallback.

``read_frames(path, indices)`` returns exactly the frames asked for, as a ``uint8`` tensor
``(N, H, W, 3)`` in RGB. decord seeks and decodes in C++ and is the fast path; PyAV decodes
sequentially from the start, which is exact for any container, and takes over when decord is not
installed (aarch64, macOS arm64) or cannot read a file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NamedTuple, Sequence

import av
import numpy as np
import torch  # decord must be imported after torch

# decord bundles its own FFmpeg libraries; loaded before PyAV's they break PyAV's VP9 encoder,
# so PyAV is imported first (above).
try:
    import decord
except ImportError:  # pragma: no cover - decord has no wheels for some platforms
    decord = None

BACKENDS = ("decord", "pyav")


class VideoReadError(ValueError):
    """A file that exists but is not a readable video (truncated, corrupt, not a video at all)."""


class VideoInfo(NamedTuple):
    """What a reader needs to know before it samples a clip."""

    frames: int
    fps: float
    height: int
    width: int


def _existing(path: str | os.PathLike) -> Path:
    resolved = Path(path)
    if not resolved.is_file():
        raise FileNotFoundError(f"video file not found: {resolved}")
    return resolved


def _backends(backend: str | None) -> tuple[str, ...]:
    if backend is None:
        return BACKENDS if decord is not None else ("pyav",)
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS} or None, got {backend!r}")
    if backend == "decord" and decord is None:
        raise ValueError("backend 'decord' requested but decord is not installed (pip install decord)")
    return (backend,)


def _first_success(path: Path, backend: str | None, readers: dict) -> Any:
    """Try each backend's reader in turn; raise VideoReadError naming the file if none succeeds."""
    failures = []
    for name in _backends(backend):
        try:
            return readers[name](path)
        except IndexError:
            raise
        except Exception as error:  # noqa: BLE001 - each library raises its own types
            failures.append(f"{name}: {type(error).__name__}: {error}")
    raise VideoReadError(f"cannot read video {path} ({'; '.join(failures)})")


def video_info(path: str | os.PathLike, backend: str | None = None) -> VideoInfo:
    """Frame count, frame rate and size of a video file."""
    path = _existing(path)
    return _first_success(path, backend, {"decord": _decord_info, "pyav": _pyav_info})


def read_frames(
    path: str | os.PathLike, indices: Sequence[int], backend: str | None = None
) -> torch.Tensor:
    """Frames ``indices`` of a video as ``uint8`` ``(len(indices), H, W, 3)`` RGB; index i is frame i.

    Indices may repeat and come in any order. ``backend`` forces ``"decord"`` or ``"pyav"``;
    by default decord is tried first and PyAV takes over if it fails.
    """
    path = _existing(path)
    wanted = [int(i) for i in indices]
    if not wanted:
        raise ValueError(f"no frame indices given for {path}")
    if min(wanted) < 0:
        raise IndexError(f"negative frame index {min(wanted)} for {path}")

    def with_decord(p: Path) -> np.ndarray:
        return _decord_read(p, wanted)

    def with_pyav(p: Path) -> np.ndarray:
        return _pyav_read(p, wanted)

    frames = _first_success(path, backend, {"decord": with_decord, "pyav": with_pyav})
    return torch.from_numpy(np.ascontiguousarray(frames))


def _out_of_range(path: Path, index: int, count: int) -> IndexError:
    return IndexError(f"frame index {index} out of range for {path}, which has {count} frames")


# decord ------------------------------------------------------------------------------------------


def _decord_reader(path: Path) -> decord.VideoReader:
    return decord.VideoReader(str(path), ctx=decord.cpu(0), num_threads=1)


def _decord_info(path: Path) -> VideoInfo:
    reader = _decord_reader(path)
    height, width = reader[0].shape[:2]
    info = VideoInfo(len(reader), float(reader.get_avg_fps()), int(height), int(width))
    del reader
    return info


def _decord_read(path: Path, indices: list[int]) -> np.ndarray:
    reader = _decord_reader(path)
    try:
        if max(indices) >= len(reader):
            raise _out_of_range(path, max(indices), len(reader))
        frames = reader.get_batch(indices).asnumpy()
        # decord keeps decoding ahead after get_batch and its memory grows without bound
        # (dmlc/decord#197, #208); seeking back to the start stops it.
        reader.seek(0)
        return frames
    finally:
        del reader


# PyAV --------------------------------------------------------------------------------------------


def _pyav_info(path: Path) -> VideoInfo:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate or stream.guessed_rate or 0)
        count = stream.frames or sum(1 for packet in container.demux(stream) if packet.size)
        if count == 0:
            raise VideoReadError(f"no video frames in {path}")
        return VideoInfo(int(count), fps, stream.codec_context.height, stream.codec_context.width)


def _pyav_read(path: Path, indices: list[int]) -> np.ndarray:
    """Decode from the first frame up to the last wanted one: exact for every container."""
    wanted = set(indices)
    last = max(indices)
    found: dict[int, np.ndarray] = {}
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        count = 0
        for count, frame in enumerate(container.decode(stream), start=1):
            index = count - 1
            if index in wanted:
                found[index] = frame.to_ndarray(format="rgb24")
            if index >= last:
                break
    if last not in found:
        raise _out_of_range(path, last, count)
    return np.stack([found[i] for i in indices])
