"""Write the playground's sample clips: a few seconds of each sample video at 320 x 240, as WebM.

Run: ``python tools/playground_clips.py`` (``make playground-clips``). The clips ship with the HTML
book (``book/_playground/playground/clips``), so the playground works offline; VP8 in WebM plays in
every current browser, Chromium built without proprietary codecs included.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import torch
import torch.nn.functional as F

from vmp.data.footage import sample_video
from vmp.data.io import read_frames, video_info

OUT = Path(__file__).resolve().parent.parent / "book" / "_playground" / "playground" / "clips"
CLIPS = {"bikes": (60, 100), "bigbuckbunny": (30, 100), "carphone": (0, 100)}  # name: (first frame, frames)
WIDTH, HEIGHT, FPS = 320, 240, 25


def resized(frames: torch.Tensor) -> np.ndarray:
    """(T, H, W, 3) uint8 frames scaled to cover 320 x 240 and centre-cropped."""
    images = frames.permute(0, 3, 1, 2).float()
    scale = max(WIDTH / images.shape[-1], HEIGHT / images.shape[-2])
    size = (max(HEIGHT, round(images.shape[-2] * scale)), max(WIDTH, round(images.shape[-1] * scale)))
    images = F.interpolate(images, size=size, mode="area")
    top, left = (size[0] - HEIGHT) // 2, (size[1] - WIDTH) // 2
    images = images[:, :, top:top + HEIGHT, left:left + WIDTH]
    return images.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def write_webm(path: Path, frames: np.ndarray) -> None:
    with av.open(str(path), "w", format="webm") as container:
        stream = container.add_stream("libvpx", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"crf": "10", "b:v": "1M"}
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, (first, count) in CLIPS.items():
        path = sample_video(name)
        count = min(count, video_info(path).frames - first)
        frames = resized(read_frames(path, range(first, first + count), backend="pyav"))
        write_webm(OUT / f"{name}.webm", frames)
        print(f"{name}.webm: {count} frames, {(OUT / f'{name}.webm').stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main()
