"""A motion-only action benchmark: the class is in how a sprite moves, never in how it looks.

Each clip shows one textured sprite over a background. Shape, size, colours, texture,
background (a colour field or a crop of real footage), starting position and orientation are
drawn independently of the class; positions wrap around the frame edges, so where the sprite is
in any single frame is uniform for every class. Only the trajectory (direction, speed, rotation,
path, timing) tells classes apart, and some pairs differ only in speed or timing, in the spirit
of fine-grained data sets such as FineGym.

Nuisance motion comes at three named levels (:data:`NUISANCE`): ``"none"``; ``"light"`` (the
default: mild sensor noise, global flicker and camera shake); ``"heavy"``, which adds what a
threshold and a temporal-smoothness term should suppress and plain frame differences keep: strong
sensor noise, locally flickering patches, shimmering texture regions, faint decoy sprites moving
at random, and stronger camera shake over textured backgrounds. All of it is class-independent.

A second task, ``task="source"``, is the book's stand-in for Kinetics: 8 coarse motion classes
(disjoint from the target's names) whose sprites usually carry their class's shape and colour, so
a network fed plain frames can learn it, as a frames-fed network learns Kinetics.

Written as real mp4 files in ``root/{train,val,test}/<class>/<video>.mp4``; deterministic from the seed.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from vmp.data.footage import SAMPLE_VIDEOS, sample_video
from vmp.data.io import read_frames, video_info
from vmp.data.writing import write_video

#: The classes, in label order. Pairs that differ only in speed or timing: right / right-fast,
#: go-stop / stop-go; only in the sense of rotation: spin-cw / spin-ccw, orbit-cw / orbit-ccw.
CLASSES = (
    "right", "left", "up", "down", "right-fast", "go-stop",
    "stop-go", "spin-cw", "spin-ccw", "orbit-cw", "orbit-ccw", "zigzag",
)
#: The pretraining task's classes: coarser than the target's (a slide is any of right, left,
#: right-fast, go-stop...) and none of its names. Directions and senses are drawn per clip.
SOURCE_CLASSES = ("slide-h", "slide-v", "diagonal", "spin", "orbit", "wobble", "bounce", "still")
#: Each source class's usual look: a shape index (disc, square, triangle, cross) and a colour.
SOURCE_LOOKS = (
    (0, (0.9, 0.2, 0.2)), (1, (0.2, 0.8, 0.2)), (2, (0.2, 0.3, 0.9)), (3, (0.9, 0.9, 0.2)),
    (0, (0.9, 0.3, 0.9)), (1, (0.2, 0.9, 0.9)), (2, (1.0, 0.6, 0.1)), (3, (0.6, 0.6, 0.6)),
)
#: A control for the pooled source task: the same motions and looks, with the slides' direction in
#: the label (each slide split in two), so features pretrained on it must keep direction.
DIRECTED_SOURCE_CLASSES = ("slide-right", "slide-left", "slide-down", "slide-up", "diagonal", "spin", "orbit",
                           "wobble", "bounce", "still")
#: Each directed slide's pooled class and the direction (sign) it fixes.
DIRECTED_SLIDES = {"slide-right": ("slide-h", 1.0), "slide-left": ("slide-h", -1.0),
                   "slide-down": ("slide-v", 1.0), "slide-up": ("slide-v", -1.0)}
#: The clean control: direction kept in the label only where no target class lives, on the
#: diagonals (each diagonal split by its horizontal and vertical sense); every other class pooled as
#: in the book's task. No class is a target class, yet features that tell the diagonals apart must
#: keep both axes' direction, as four of the targets need.
DIAGONAL_SOURCE_CLASSES = ("slide-h", "slide-v", "diagonal-down-right", "diagonal-down-left", "diagonal-up-right",
                           "diagonal-up-left", "spin", "orbit", "wobble", "bounce", "still")
#: Each directed diagonal's (horizontal, vertical) sense (image rows grow downwards).
DIRECTED_DIAGONALS = {"diagonal-down-right": (1.0, 1.0), "diagonal-down-left": (-1.0, 1.0),
                      "diagonal-up-right": (1.0, -1.0), "diagonal-up-left": (-1.0, -1.0)}
TASK_CLASSES = {"motion": CLASSES, "source": SOURCE_CLASSES, "source_directed": DIRECTED_SOURCE_CLASSES,
                "source_diagonal": DIAGONAL_SOURCE_CLASSES}
#: The tasks drawn as the source task is (the book's, and its two direction-keeping controls).
SOURCE_TASKS = ("source", "source_directed", "source_diagonal")
TASKS = tuple(TASK_CLASSES)
SPLIT_FRACTIONS = {"train": 0.6, "val": 0.2, "test": 0.2}


@dataclass(frozen=True)
class Distractors:
    """Class-independent nuisances, drawn independently per clip and frame.

    noise_std: Gaussian sensor noise (standard deviation, in 8-bit units of 255).
    flicker: global brightness gain drawn uniformly from ``1 +- flicker`` each frame.
    shake: camera shake, a whole-frame shift drawn uniformly from ``+- shake`` pixels each frame.
    patches, patch_flicker: rectangles whose brightness gain is drawn from ``1 +- patch_flicker``
        each frame, independently of the rest of the frame (a flickering light, a screen).
    shimmers, shimmer_amplitude: rectangles of fine stripes (amplitude in 8-bit units) whose phase
        jumps at random every frame (water, leaves): small changes everywhere in the region.
    decoys, decoy_opacity: faint sprites (blended at this opacity) wandering in random directions.
    textured: always a crop of real footage as background (never a smooth colour field).
    background_contrast: the background's contrast about its mean (1: as filmed), so shake moves
        texture that is fainter than the sprite, as a blurred or dim background is.
    background_level: if set, the background's mean is moved to this level (0..1).
    sprite_floor: the sprite's colours are drawn from [floor, 1] per channel (0: any colour), so the
        actor stands out from a dim background as a lit actor does; nuisance stays fainter than it.
    """

    noise_std: float = 4.0
    flicker: float = 0.04
    shake: float = 1.0
    patches: int = 0
    patch_flicker: float = 0.0
    shimmers: int = 0
    shimmer_amplitude: float = 0.0
    decoys: int = 0
    decoy_opacity: float = 0.0
    textured: bool = False
    background_contrast: float = 1.0
    background_level: float | None = None
    sprite_floor: float = 0.0


NO_DISTRACTORS = Distractors(0.0, 0.0, 0.0)
#: The scene of the heavy level (a dim, low-contrast textured background and a lit actor), which
#: the separated nuisance kinds below share, so that only the nuisance differs between them.
_SCENE = {"textured": True, "background_contrast": 0.5, "background_level": 0.3, "sprite_floor": 0.6}
#: The named nuisance levels; ``"light"`` is the benchmark's historical default, unchanged.
#: ``"heavy"`` is every kind at once; ``"still"``, ``"sensor"``, ``"shake"`` and ``"distractors"``
#: separate them on its scene: nothing; sensor noise with global and local flicker; camera shake;
#: motion that is not the actor (decoy sprites, shimmering texture).
NUISANCE = {
    "none": NO_DISTRACTORS,
    "light": Distractors(),
    "heavy": Distractors(noise_std=12.0, flicker=0.06, shake=1.5, patches=3, patch_flicker=0.15, shimmers=3,
                         shimmer_amplitude=10.0, decoys=4, decoy_opacity=0.2, **_SCENE),
    "still": Distractors(0.0, 0.0, 0.0, **_SCENE),
    "sensor": Distractors(noise_std=12.0, flicker=0.06, shake=0.0, patches=3, patch_flicker=0.15, **_SCENE),
    "shake": Distractors(noise_std=0.0, flicker=0.0, shake=1.5, **_SCENE),
    "distractors": Distractors(noise_std=0.0, flicker=0.0, shake=0.0, shimmers=3, shimmer_amplitude=10.0, decoys=4,
                               decoy_opacity=0.2, **_SCENE),
}
#: Cues that can stand in for the motion class in training: the background scene, or the actor's look.
SHORTCUTS = ("none", "scene", "appearance")


def nuisance(level: str) -> Distractors:
    """The :class:`Distractors` of a named level: ``"none"``, ``"light"`` or ``"heavy"``."""
    if level not in NUISANCE:
        raise ValueError(f"unknown nuisance level {level!r}; choose one of {sorted(NUISANCE)}")
    return NUISANCE[level]


@dataclass(frozen=True)
class SynthConfig:
    """Everything that determines the generated data set."""

    seed: int = 0
    classes: int = len(CLASSES)
    clips_per_class: int = 20
    frames: int = 17
    size: int = 64
    fps: int = 25
    distractors: Distractors = Distractors()
    footage_backgrounds: bool = True
    task: str = "motion"  # or "source", the pretraining task ("source_directed", "source_diagonal": controls)
    look_cue: float = 0.75  # source task: how often a sprite wears its class's look
    #: (train, val, test) clips per class; if set, it replaces the split of ``clips_per_class``
    split_clips: tuple[int, int, int] | None = None
    #: a cue correlated with the class in training and validation only: "scene" (each class has its
    #: own background) or "appearance" (each class has its own sprite look); "none" for no cue
    shortcut: str = "none"
    #: how often a training or validation clip carries its own class's cue (else another class's);
    #: test clips carry a cue drawn independently of their class
    shortcut_rho: float = 0.9

    @property
    def class_names(self) -> tuple[str, ...]:
        """The names of this task's classes, in label order."""
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {self.task!r}")
        return TASK_CLASSES[self.task][: self.classes]


def trajectory(name: str, frames: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame displacement ``(frames, 2)`` in pixels (x right, y down) and rotation in radians."""
    t = np.arange(frames, dtype=np.float64)
    speed = size / 40  # pixels per frame
    zero = np.zeros(frames)
    half = frames // 2
    shift = {
        "right": (speed * t, zero),
        "left": (-speed * t, zero),
        "up": (zero, -speed * t),
        "down": (zero, speed * t),
        "right-fast": (2 * speed * t, zero),
        "go-stop": (2 * speed * np.minimum(t, half), zero),
        "stop-go": (2 * speed * np.maximum(t - half, 0), zero),
        "orbit-cw": (size / 6 * np.cos(t * 0.35) - size / 6, size / 6 * np.sin(t * 0.35)),
        "orbit-ccw": (size / 6 * np.cos(t * 0.35) - size / 6, -size / 6 * np.sin(t * 0.35)),
        "zigzag": (speed * t, size / 10 * (2 * np.abs((t / 4) % 2 - 1) - 1)),
    }
    spin = {"spin-cw": 0.21 * t, "spin-ccw": -0.21 * t}
    if name not in CLASSES:
        raise ValueError(f"unknown motion class {name!r}; classes are {CLASSES}")
    dx, dy = shift.get(name, (zero, zero))
    return np.stack([dx, dy], axis=1), spin.get(name, zero)


def source_trajectory(name: str, frames: int, size: int, rng: np.random.Generator,
                      sign: float | None = None, diagonal_sense: tuple[float, float] | None = None,
                      ) -> tuple[np.ndarray, np.ndarray]:
    """A source-task class's displacement and rotation, its direction, sense and speed drawn from
    ``rng`` (a slide's direction fixed by ``sign``, a diagonal's two senses by ``diagonal_sense``,
    when given; the draws are made either way, so the rest of the clip is unchanged)."""
    if name not in SOURCE_CLASSES:
        raise ValueError(f"unknown source class {name!r}; classes are {SOURCE_CLASSES}")
    t = np.arange(frames, dtype=np.float64)
    speed = size / 40 * rng.uniform(0.75, 2.0)
    drawn = rng.choice((-1.0, 1.0))
    sign = drawn if sign is None else sign
    zero = np.zeros(frames)
    swing = size / 8 * (2 * np.abs((t / 6) % 2 - 1) - 1)  # a triangle wave, back and forth
    diagonal = rng.choice((-1.0, 1.0), 2)
    if diagonal_sense is not None:
        diagonal = np.asarray(diagonal_sense, dtype=np.float64)
    shift = {
        "slide-h": (sign * speed * t, zero),
        "slide-v": (zero, sign * speed * t),
        "diagonal": (diagonal[0] * speed * t, diagonal[1] * speed * t),
        "orbit": (size / 6 * np.cos(t * 0.35) - size / 6, sign * size / 6 * np.sin(t * 0.35)),
        "bounce": (swing * sign, swing * diagonal[0] * rng.uniform(0, 1)),
    }
    spin = {"spin": sign * 0.25 * t, "wobble": 0.6 * np.sin(t * 0.8 + rng.uniform(0, 2 * math.pi))}
    dx, dy = shift.get(name, (zero, zero))
    return np.stack([dx, dy], axis=1), spin.get(name, zero)


def _sprite(
    rng: np.random.Generator, size: int, look: tuple[int, tuple] | None = None, floor: float = 0.0
) -> torch.Tensor:
    """An RGBA sprite (4, size, size) centred in its canvas: a textured shape of random look (colours
    drawn from [floor, 1]), or of the given ``(shape, colour)`` look (the stripes' second colour stays random)."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    u, v = (x - size / 2 + 0.5) / size, (y - size / 2 + 0.5) / size
    radius = rng.uniform(0.12, 0.2)
    shape = rng.integers(4) if look is None else look[0]
    if shape == 0:  # disc
        alpha = np.hypot(u, v) < radius
    elif shape == 1:  # square
        alpha = np.maximum(abs(u), abs(v)) < radius * 0.85
    elif shape == 2:  # triangle
        alpha = (v < radius * 0.8) & (v > 2 * abs(u) - radius)
    else:  # cross
        alpha = (np.minimum(abs(u), abs(v)) < radius * 0.35) & (np.maximum(abs(u), abs(v)) < radius)
    angle, frequency = rng.uniform(0, math.pi), rng.uniform(12, 30)
    stripes = 0.5 + 0.5 * np.sign(np.sin(frequency * (u * math.cos(angle) + v * math.sin(angle))))
    first, second = rng.uniform(floor, 1, 3), rng.uniform(floor, 1, 3)
    if look is not None:
        first = np.asarray(look[1])
    rgb = first[:, None, None] * stripes + second[:, None, None] * (1 - stripes)
    return torch.from_numpy(np.concatenate([rgb, alpha[None].astype(np.float64)])).float()


class _Backgrounds:
    """Random static backgrounds: smooth colour fields, or crops of the sample footage."""

    def __init__(self, size: int, use_footage: bool) -> None:
        self.size = size
        self.stills: list[torch.Tensor] = []
        if use_footage:
            for name in SAMPLE_VIDEOS:
                try:
                    path = sample_video(name)
                except FileNotFoundError:
                    continue
                count = video_info(path).frames
                picks = np.linspace(0, count - 1, 4).astype(int).tolist()
                frames = read_frames(path, picks, backend="pyav").permute(0, 3, 1, 2).float() / 255
                short = min(frames.shape[-2:])
                scale = 2 * size / short
                self.stills += list(F.interpolate(frames, scale_factor=scale, mode="area"))

    def scene(self, index: int) -> torch.Tensor:
        """Scene ``index``: the same background every time (a fixed crop of footage, or a colour
        field without footage), the cue of the scene shortcut."""
        return self.draw(np.random.default_rng([7919, index]), textured=True)

    def draw(self, rng: np.random.Generator, textured: bool = False) -> torch.Tensor:
        """A crop of footage (always, if ``textured`` and there is footage; else half the time) or a colour field."""
        if self.stills and (textured or rng.uniform() < 0.5):
            still = self.stills[rng.integers(len(self.stills))]
            top = rng.integers(still.shape[1] - self.size + 1)
            left = rng.integers(still.shape[2] - self.size + 1)
            return still[:, top : top + self.size, left : left + self.size]
        y, x = np.mgrid[0 : self.size, 0 : self.size] / self.size
        corners = rng.uniform(0, 1, (4, 3))
        field = (
            corners[0][:, None, None] * (1 - x) * (1 - y)
            + corners[1][:, None, None] * x * (1 - y)
            + corners[2][:, None, None] * (1 - x) * y
            + corners[3][:, None, None] * x * y
        )
        return torch.from_numpy(field).float()


def _warp(image: torch.Tensor, shift: np.ndarray, angle: np.ndarray, wrap: bool) -> torch.Tensor:
    """Frames (T, C, H, W) of ``image`` rotated by ``angle`` about its centre and moved by ``shift``."""
    channels, height, width = image.shape
    frames = len(shift)
    y, x = torch.meshgrid(torch.arange(height) + 0.5, torch.arange(width) + 0.5, indexing="ij")
    cx, cy = width / 2, height / 2
    shift_t = torch.from_numpy(shift).float()
    cos = torch.from_numpy(np.cos(angle)).float()[:, None, None]
    sin = torch.from_numpy(np.sin(angle)).float()[:, None, None]
    rel_x = x[None] - cx - shift_t[:, 0, None, None]
    rel_y = y[None] - cy - shift_t[:, 1, None, None]
    if wrap:  # wrap the offset from the sprite before rotating, so the wrap is a pure translation
        rel_x = (rel_x + cx) % width - cx
        rel_y = (rel_y + cy) % height - cy
    src_x = cos * rel_x + sin * rel_y + cx  # inverse rotation: where each output pixel comes from
    src_y = -sin * rel_x + cos * rel_y + cy
    grid = torch.stack([2 * src_x / width - 1, 2 * src_y / height - 1], dim=-1)
    padding = "border" if wrap else "reflection"
    return F.grid_sample(image.expand(frames, -1, -1, -1), grid, align_corners=False, padding_mode=padding)


def _random_box(rng: np.random.Generator, size: int) -> tuple[slice, slice]:
    """A random rectangle, a quarter to a half of the frame on each side."""
    height, width = rng.integers(size // 4, size // 2 + 1, 2)
    top, left = rng.integers(0, size - height + 1), rng.integers(0, size - width + 1)
    return slice(top, top + height), slice(left, left + width)


def _add_local_nuisance(video: torch.Tensor, nuisance: Distractors, rng: np.random.Generator,
                        size: int, shake: np.ndarray) -> torch.Tensor:
    """Decoys, flickering patches and shimmering regions on ``video`` (T, 3, H, W) in [0, 1]."""
    frames = video.shape[0]
    for _ in range(nuisance.decoys):
        steps = (
            rng.normal(0, size / 40, (frames, 2)).cumsum(axis=0)
            + rng.normal(0, size / 30, 2) * np.arange(frames)[:, None]
        )
        decoy = _warp(_sprite(rng, size, floor=nuisance.sprite_floor), rng.uniform(0, size, 2) + steps + shake,
                      rng.uniform(0, 2 * math.pi) + rng.normal(0, 0.1, frames).cumsum(), wrap=True)
        alpha = decoy[:, 3:] * nuisance.decoy_opacity
        video = video * (1 - alpha) + decoy[:, :3] * alpha
    for _ in range(nuisance.patches):
        rows, cols = _random_box(rng, size)
        gain = torch.from_numpy(1 + rng.uniform(-nuisance.patch_flicker, nuisance.patch_flicker, frames)).float()
        video[:, :, rows, cols] *= gain[:, None, None, None]
    for _ in range(nuisance.shimmers):
        rows, cols = _random_box(rng, size)
        y, x = np.mgrid[rows, cols].astype(np.float64)
        angle, frequency = rng.uniform(0, math.pi), rng.uniform(0.8, 1.6)
        phase = rng.uniform(0, 2 * math.pi, frames)[:, None, None]
        waves = np.sin(frequency * (x * math.cos(angle) + y * math.sin(angle)) + phase)
        video[:, :, rows, cols] += torch.from_numpy(waves * nuisance.shimmer_amplitude / 255).float()[:, None]
    return video


def shortcut_cue(config: SynthConfig, label: int, split: str, rng: np.random.Generator) -> int:
    """The class whose cue (scene or look) a clip carries: in training and validation its own class
    with probability ``shortcut_rho``, else one of the others; in test any class, uniformly."""
    classes = config.classes
    if split == "test":
        return int(rng.integers(classes))
    if classes == 1 or rng.uniform() < config.shortcut_rho:
        return label
    return int((label + 1 + rng.integers(classes - 1)) % classes)


def _class_look(cue: int) -> tuple[int, tuple[float, float, float]]:
    """The sprite look (shape, colour) a class's actors wear under the appearance shortcut."""
    return SOURCE_LOOKS[cue % len(SOURCE_LOOKS)]


def render(config: SynthConfig, label: int, rng: np.random.Generator, backgrounds: _Backgrounds,
           split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """One clip of class ``label`` in ``split``: ``uint8 (frames, size, size, 3)`` and the sprite's
    coverage ``float (frames, size, size)`` in [0, 1], the ground truth of where the object is."""
    size, frames, nuisance = config.size, config.frames, config.distractors
    name = config.class_names[label]
    look = None
    cue = shortcut_cue(config, label, split, rng) if config.shortcut != "none" else None
    if config.shortcut == "appearance":
        look = _class_look(cue)
    if config.task in SOURCE_TASKS:
        pooled, sign = DIRECTED_SLIDES.get(name, (name, None))
        sense = DIRECTED_DIAGONALS.get(name)
        pooled = "diagonal" if sense is not None else pooled
        moves, spins = source_trajectory(pooled, frames, size, rng, sign, sense)
        look = SOURCE_LOOKS[SOURCE_CLASSES.index(pooled)] if rng.uniform() < config.look_cue else None
    else:
        moves, spins = trajectory(name, frames, size)
    start = rng.uniform(0, size, 2)
    orientation = rng.uniform(0, 2 * math.pi)
    shake = rng.uniform(-nuisance.shake, nuisance.shake, (frames, 2)) if nuisance.shake else np.zeros((frames, 2))
    sprite = _warp(
        _sprite(rng, size, look, nuisance.sprite_floor), start + moves + shake, orientation + spins, wrap=True
    )
    still = backgrounds.scene(cue) if config.shortcut == "scene" else backgrounds.draw(rng, nuisance.textured)
    if nuisance.background_contrast != 1.0 or nuisance.background_level is not None:
        level = still.mean() if nuisance.background_level is None else nuisance.background_level
        still = level + nuisance.background_contrast * (still - still.mean())
    background = _warp(still, shake, np.zeros(frames), wrap=False)
    alpha = sprite[:, 3:]
    if nuisance.decoys or nuisance.patches or nuisance.shimmers:  # behind the sprite, in the scene
        background = _add_local_nuisance(background, nuisance, rng, size, shake)
    video = background * (1 - alpha) + sprite[:, :3] * alpha
    gain = 1 + rng.uniform(-nuisance.flicker, nuisance.flicker, frames) if nuisance.flicker else np.ones(frames)
    video = video * torch.from_numpy(gain).float()[:, None, None, None] * 255
    if nuisance.noise_std:
        video = video + torch.from_numpy(rng.normal(0, nuisance.noise_std, video.shape)).float()
    clip = video.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    return clip, alpha[:, 0].numpy()


def render_clip(config: SynthConfig, label: int, rng: np.random.Generator, backgrounds: _Backgrounds) -> np.ndarray:
    """One clip of class ``label``: ``uint8 (frames, size, size, 3)``."""
    return render(config, label, rng, backgrounds)[0]


@functools.lru_cache(maxsize=4)
def _cached_backgrounds(size: int, use_footage: bool) -> _Backgrounds:
    return _Backgrounds(size, use_footage)


def clip_with_mask(config: SynthConfig, label: int, number: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Clip ``number`` of class ``label`` exactly as :func:`generate` renders it, and its sprite mask."""
    backgrounds = _cached_backgrounds(config.size, config.footage_backgrounds)
    sizes = split_sizes(config.clips_per_class, config.split_clips)
    split = "train" if number < sizes["train"] else "val" if number < sizes["train"] + sizes["val"] else "test"
    return render(config, label, np.random.default_rng([config.seed, label, number]), backgrounds, split)


def split_sizes(clips_per_class: int, split_clips: tuple[int, int, int] | None = None) -> dict[str, int]:
    """How many clips of each class go to train, val and test (at least one each): ``split_clips``
    if given, else ``clips_per_class`` in the proportions of :data:`SPLIT_FRACTIONS`."""
    if split_clips is not None:
        if len(split_clips) != 3 or min(split_clips) < 1:
            raise ValueError(f"split_clips must be three counts >= 1 (train, val, test), got {split_clips}")
        return dict(zip(("train", "val", "test"), (int(n) for n in split_clips)))
    if clips_per_class < 3:
        raise ValueError(f"need at least 3 clips per class (train, val, test), got {clips_per_class}")
    val = max(1, round(clips_per_class * SPLIT_FRACTIONS["val"]))
    test = max(1, round(clips_per_class * SPLIT_FRACTIONS["test"]))
    return {"train": clips_per_class - val - test, "val": val, "test": test}


def generate(root: str | Path, config: SynthConfig = SynthConfig()) -> Path:
    """Write the benchmark under ``root`` and a ``synth.json`` describing it; returns ``root``."""
    _ = config.class_names  # raises for an unknown task
    count = len(TASK_CLASSES[config.task])
    if not 1 <= config.classes <= count:
        raise ValueError(f"classes must be between 1 and {count} for the {config.task} task, got {config.classes}")
    if config.frames < 3 or config.size < 16 or config.size % 2:
        raise ValueError(f"need frames >= 3 and an even size >= 16, got {config.frames} and {config.size}")
    root = Path(root)
    backgrounds = _Backgrounds(config.size, config.footage_backgrounds)
    if config.shortcut not in SHORTCUTS:
        raise ValueError(f"shortcut must be one of {SHORTCUTS}, got {config.shortcut!r}")
    if not 0 <= config.shortcut_rho <= 1:
        raise ValueError(f"shortcut_rho must be in [0, 1], got {config.shortcut_rho}")
    sizes = split_sizes(config.clips_per_class, config.split_clips)
    names = config.class_names
    for label, name in enumerate(names):
        number = 0
        for split, amount in sizes.items():
            for _ in range(amount):
                rng = np.random.default_rng([config.seed, label, number])
                clip = render(config, label, rng, backgrounds, split)[0]
                write_video(root / split / name / f"{name}_{number:04d}.mp4", clip, config.fps)
                number += 1
    manifest = {**asdict(config), "num_classes": config.classes, "classes": list(names), "splits": sizes}
    (root / "synth.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return root
