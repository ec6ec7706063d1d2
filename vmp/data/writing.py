"""Writing clips to real video files with PyAV (h264 mp4 by default)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

#: Container extension -> (codec, pixel format, encoder options, bit rate or None).
#: H.264 is written lossless (qp 0): a clip then decodes to exactly the frames written (up to 4:2:0
#: chroma), and the same frames give the same bytes. Lossy x264 through PyAV was measured here to
#: give different bytes, and visibly different pixels, from run to run. VP9's constant-quality mode
#: needs a bit rate of 0.
CODECS = {
    ".mp4": ("libx264", "yuv420p", {"qp": "0", "preset": "veryfast", "threads": "1"}, None),
    ".mkv": ("libx264", "yuv420p", {"qp": "0", "preset": "veryfast", "threads": "1"}, None),
    ".avi": ("mpeg4", "yuv420p", {"qscale": "2", "threads": "1"}, None),
    ".webm": ("libvpx-vp9", "yuv420p", {"crf": "10", "threads": "1", "row-mt": "0"}, 0),
}


def write_video(path: str | os.PathLike, frames: np.ndarray | torch.Tensor, fps: int = 25) -> Path:
    """Encode ``uint8`` frames ``(T, H, W, 3)`` RGB into ``path``; the codec follows the extension.

    H and W must be even (4:2:0 chroma). The file is written to a temporary name and renamed, so a
    reader never sees half a video.
    """
    import av

    path = Path(path)
    # contiguous: PyAV reads a strided array's buffer as if it were packed, giving garbage pixels
    frames = np.ascontiguousarray(frames.numpy() if isinstance(frames, torch.Tensor) else frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 (T, H, W, 3), got {frames.dtype} {frames.shape} for {path}")
    if frames.shape[1] % 2 or frames.shape[2] % 2:
        raise ValueError(f"frame height and width must be even for 4:2:0 video, got {frames.shape[1:3]} for {path}")
    if path.suffix not in CODECS:
        raise ValueError(f"unknown video extension {path.suffix!r} for {path}; use one of {sorted(CODECS)}")
    codec, pixel_format, options, bit_rate = CODECS[path.suffix]
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.stem}.partial{path.suffix}")
    with av.open(str(partial), mode="w") as container:
        stream = container.add_stream(codec, rate=fps, options=options)
        stream.width, stream.height = int(frames.shape[2]), int(frames.shape[1])
        stream.pix_fmt = pixel_format
        stream.codec_context.thread_count = 1  # PyAV otherwise picks a count, and threads reorder work
        if bit_rate is not None:
            stream.bit_rate = bit_rate
        for number, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = number  # explicit timestamps: x264's rate control reads them
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    os.replace(partial, path)
    return path
