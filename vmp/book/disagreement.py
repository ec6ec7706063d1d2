"""Error analysis: the test clips on which two inputs of one backbone disagree, and what they share.

Chapter 7 fine-tunes SlowFast on plain frames and on motion prompts. Where one input gets a clip
right and the other gets it wrong, the clips themselves can say what the layer changes: their
classes, what the wrong input took them for, and how much of their motion is the actor's.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Sequence

import numpy as np
import torch

if TYPE_CHECKING:
    from vmp.data.synth import SynthConfig


def predictions(model: torch.nn.Module, dataset: Sequence[tuple[torch.Tensor, int]], batch_size: int = 8) -> list[int]:
    """The class ``model`` predicts for every clip of ``dataset``, in the dataset's order."""
    model.eval()
    device = next(model.parameters()).device
    predicted: list[int] = []
    with torch.no_grad():
        for start in range(0, len(dataset), batch_size):
            clips = torch.stack([dataset[i][0] for i in range(start, min(start + batch_size, len(dataset)))])
            logits = model(clips.to(device))[0]
            predicted += logits.argmax(dim=1).tolist()
    return predicted


class Disagreement(NamedTuple):
    """One clip that exactly one of two inputs classifies correctly."""

    index: int  # the clip's position in the test set
    label: int
    first: int  # the first input's prediction
    second: int  # the second input's prediction

    @property
    def winner(self) -> str:
        """``"first"`` or ``"second"``: the input that got the clip right."""
        return "first" if self.first == self.label else "second"


def disagreements(labels: Sequence[int], first: Sequence[int], second: Sequence[int]) -> list[Disagreement]:
    """The clips one input gets right and the other wrong (both wrong is no disagreement about the
    answer, only about the mistake), in test-set order."""
    if not len(labels) == len(first) == len(second):
        raise ValueError(f"need one label and two predictions per clip, got {len(labels)}, {len(first)}, {len(second)}")
    return [Disagreement(i, int(y), int(a), int(b)) for i, (y, a, b) in enumerate(zip(labels, first, second))
            if (a == y) != (b == y)]


def clip_identity(path: str | Path) -> tuple[str, int]:
    """``(class name, clip number)`` of a synthetic clip from its file, ``<class>/<class>_<number>.mp4``:
    what :func:`vmp.data.synth.clip_with_mask` needs to render it again with its sprite's mask."""
    stem = Path(path).stem
    name, _, number = stem.rpartition("_")
    if not name or not number.isdigit():
        raise ValueError(f"{path}: not a synthetic clip named <class>_<number>")
    return name, int(number)


def actor_motion_share(clip: np.ndarray, mask: np.ndarray) -> float:
    """The share of a clip's frame-to-frame change that the actor makes: the summed absolute gray
    difference on pixels the sprite covers in either frame, over the summed difference everywhere.
    ``clip``: ``uint8 (T+1, H, W, 3)``; ``mask``: the sprite's coverage ``(T+1, H, W)`` in [0, 1].
    Low values: the nuisance (noise, flicker, shake, decoys) makes most of the change."""
    gray = clip.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    change = np.abs(np.diff(gray, axis=0))
    on_actor = np.maximum(mask[1:], mask[:-1]) > 0.01  # any coverage: its soft edges change too
    total = change.sum()
    return float(change[on_actor].sum() / total) if total > 0 else 0.0


def seed_counts(records: dict, first: str = "frames", second: str = "vmp") -> dict[str, Counter]:
    """Over every recorded seed, how often each class's clips go to each side: ``{"first": Counter of
    class names the first input alone gets right, "second": the same for the second}``.
    ``records``: as ``benchmarks/disagreements.py`` writes them (``classes``, ``labels`` and per run
    ``input``, ``seed``, ``predictions``)."""
    classes, labels = records["classes"], records["labels"]
    runs = {(run["input"], run["seed"]): run["predictions"] for run in records["runs"]}
    counts = {"first": Counter(), "second": Counter()}
    for seed in records["seeds"]:
        for clip in disagreements(labels, runs[(first, seed)], runs[(second, seed)]):
            counts[clip.winner][classes[clip.label]] += 1
    return counts


def outcomes_over_seeds(records: dict, first: str = "frames", second: str = "vmp") -> dict[str, list[int]]:
    """For every test clip, in how many recorded seeds ``first`` alone gets it right (``"first"``),
    ``second`` alone (``"second"``), both (``"both right"``) or neither (``"both wrong"``): whether
    a clip's outcome is the clip's or the draw's."""
    labels = records["labels"]
    runs = {(run["input"], run["seed"]): run["predictions"] for run in records["runs"]}
    outcomes = {name: [0] * len(labels) for name in ("first", "second", "both right", "both wrong")}
    for seed in records["seeds"]:
        for clip, (label, a, b) in enumerate(zip(labels, runs[(first, seed)], runs[(second, seed)])):
            key = {(True, False): "first", (False, True): "second", (True, True): "both right",
                   (False, False): "both wrong"}[(a == label, b == label)]
            outcomes[key][clip] += 1
    return outcomes


def actor_motion_shares(config: SynthConfig, videos: Sequence[str]) -> list[float]:
    """:func:`actor_motion_share` of synthetic clips named ``<class>_<number>`` (test files, or the
    names ``benchmarks/disagreements.py`` records), each rendered again with its sprite's mask."""
    from vmp.data.synth import CLASSES, clip_with_mask

    shares = []
    for video in videos:
        name, number = clip_identity(video)
        clip, mask = clip_with_mask(config, CLASSES.index(name), number)
        shares.append(actor_motion_share(clip, mask))
    return shares


def confusion_kind(true: str, predicted: str) -> str:
    """What a mistake confuses, read off the two classes' trajectories in the synthetic benchmark:
    ``"rotation vs translation"`` (one class turns in place), ``"speed"`` (same direction),
    ``"opposite direction"`` or ``"another direction"``; ``"other"`` for classes that differ only in
    path or timing, or both turn."""
    from vmp.data.synth import trajectory

    def velocity(name: str) -> tuple[np.ndarray, bool]:
        shift, spin = trajectory(name, 9, 64)
        return shift[-1] - shift[0], bool(np.any(spin))

    (a, a_spins), (b, b_spins) = velocity(true), velocity(predicted)
    if a_spins != b_spins:
        return "rotation vs translation"
    length = np.linalg.norm(a) * np.linalg.norm(b)
    if a_spins or length == 0:
        return "other"
    cosine = float(a @ b / length)
    if cosine > 0.99:  # the same way: by speed, or only by path or timing (zigzag, go-stop)
        faster = max(np.linalg.norm(a), np.linalg.norm(b)) / min(np.linalg.norm(a), np.linalg.norm(b))
        return "speed" if faster > 1.1 else "other"
    return "opposite direction" if cosine < -0.99 else "another direction"
