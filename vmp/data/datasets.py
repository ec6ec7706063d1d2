"""Video datasets: split/class folders, list files (with segments), and deterministic subsets.

Every dataset yields ``(clip, label)``: a clip of T+1 frames transformed for a backbone, with a
leading views axis when several temporal or spatial views are asked for (multi-view testing).
"""

from __future__ import annotations

import csv
import dataclasses
import os
import warnings
from pathlib import Path
from typing import Callable, Iterator, Sequence

import torch
from torch.utils.data import Dataset

from vmp.data.io import VideoReadError, read_frames, video_info
from vmp.data.sampling import clip_indices

VIDEO_EXTENSIONS = (".mp4", ".avi", ".webm", ".mkv", ".mov")
SPLITS = ("train", "val", "test")


@dataclasses.dataclass(frozen=True)
class VideoSample:
    """One labelled video, or the segment ``[start, end)`` of one (frames, end exclusive)."""

    path: Path
    label: int
    start: int | None = None
    end: int | None = None


class ClipDataset(Dataset):
    """Clips of ``frames`` frames (T+1) every ``rate``-th frame from labelled videos.

    Args:
        samples: the videos and their labels.
        classes: class names; ``label`` indexes this list.
        frames, rate: clip length (T+1, the extra frame feeds the first difference) and stride.
        mode: ``"random"`` (training), ``"center"`` or ``"uniform"`` with ``temporal_views`` views.
        transform: maps ``uint8 (T+1, H, W, 3)`` to a tensor, e.g. :class:`vmp.data.ClipTransform`.
        on_error: ``"raise"`` (default) or ``"skip"``: probe every file now, drop unreadable ones
            and list them in ``self.skipped`` with the reason (a warning reports the count).
        seed: base seed for random clip positions; item ``i`` of epoch ``e`` draws from seed + i + e*len.
        backend: ``"decord"`` or ``"pyav"`` to force a reader; by default decord, then PyAV.
        cache: keep each video's (or segment's) decoded frames in memory after its first read, so
            later epochs skip decoding. Clip positions and transforms are still drawn every time,
            so results are the same as without it. For small data sets only: it holds every frame.
    """

    def __init__(
        self,
        samples: Sequence[VideoSample],
        classes: Sequence[str],
        frames: int = 9,
        rate: int = 1,
        mode: str = "random",
        temporal_views: int = 1,
        transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
        on_error: str = "raise",
        seed: int = 0,
        backend: str | None = None,
        cache: bool = False,
    ) -> None:
        if on_error not in ("raise", "skip"):
            raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
        self.classes = list(classes)
        self.frames, self.rate, self.mode, self.temporal_views = frames, rate, mode, temporal_views
        self.transform, self.on_error, self.seed, self.backend = transform, on_error, seed, backend
        self.epoch = 0
        # keyed by (path, start, end): the frames do not depend on the label, so subsets share them
        self.cache: dict[tuple[Path, int | None, int | None], torch.Tensor] | None = {} if cache else None
        self.skipped: list[tuple[Path, str]] = []
        self._frame_counts: dict[Path, int] = {}
        self.samples = list(samples)
        clip_indices(1, frames, rate, mode, temporal_views)  # validate the sampling arguments now
        if on_error == "skip":
            self.samples = [s for s in self.samples if self._readable(s)]
            if self.skipped:
                warnings.warn(f"skipped {len(self.skipped)} unreadable video(s); see dataset.skipped", stacklevel=2)

    def _readable(self, sample: VideoSample) -> bool:
        try:
            self._frame_counts[sample.path] = video_info(sample.path, self.backend).frames
            return True
        except (OSError, VideoReadError) as error:
            self.skipped.append((sample.path, str(error)))
            return False

    def __len__(self) -> int:
        return len(self.samples)

    def set_epoch(self, epoch: int) -> None:
        """Change the random clip positions for a new epoch (the training loop calls this)."""
        self.epoch = epoch

    def frame_count(self, sample: VideoSample) -> int:
        """Frames in the sample's video, or in its segment."""
        if sample.path not in self._frame_counts:
            self._frame_counts[sample.path] = video_info(sample.path, self.backend).frames
        total = self._frame_counts[sample.path]
        start, end = sample.start or 0, total if sample.end is None else min(sample.end, total)
        if end <= start:
            raise ValueError(f"segment [{sample.start}, {sample.end}) of {sample.path} is empty ({total} frames)")
        return end - start

    def indices(self, index: int) -> list[list[int]]:
        """The frame indices of item ``index``'s views, in the video's own numbering."""
        sample = self.samples[index]
        generator = torch.Generator().manual_seed(self.seed + index + self.epoch * len(self))
        views = clip_indices(
            self.frame_count(sample), self.frames, self.rate, self.mode, self.temporal_views, generator
        )
        offset = sample.start or 0
        return [[offset + i for i in view] for view in views]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        sample = self.samples[index]
        views = self.indices(index)
        decoded = self._read(sample, [i for view in views for i in view])
        clips = [decoded[v * self.frames : (v + 1) * self.frames] for v in range(len(views))]
        if self.transform is not None:
            clips = [self.transform(clip) for clip in clips]
        if len(clips) == 1:
            return clips[0], sample.label
        # (temporal views [x spatial views], ...) flattened into one views axis
        stacked = torch.stack(clips)
        if stacked.dim() == 6:
            stacked = stacked.flatten(0, 1)
        return stacked, sample.label

    def _read(self, sample: VideoSample, indices: list[int]) -> torch.Tensor:
        """Frames ``indices`` of the sample's video, from the in-memory cache when it is on."""
        if self.cache is None:
            return read_frames(sample.path, indices, self.backend)
        key, offset = (sample.path, sample.start, sample.end), sample.start or 0
        if key not in self.cache:
            self.cache[key] = read_frames(sample.path, range(offset, offset + self.frame_count(sample)), self.backend)
        return self.cache[key][[i - offset for i in indices]]

    def subset(self, num_classes: int | None = None, per_class: int | None = None, seed: int = 0) -> ClipDataset:
        """K classes x N videos per class, chosen deterministically from ``seed``; labels become 0..K-1."""
        generator = torch.Generator().manual_seed(seed)
        available = sorted({s.label for s in self.samples})
        k = len(available) if num_classes is None else num_classes
        if not 0 < k <= len(available):
            raise ValueError(f"asked for {num_classes} classes, the dataset has {len(available)}")
        chosen = sorted(available[i] for i in torch.randperm(len(available), generator=generator)[:k].tolist())
        relabel = {old: new for new, old in enumerate(chosen)}
        picked: list[VideoSample] = []
        for old in chosen:
            members = [s for s in self.samples if s.label == old]
            if per_class is not None and per_class > len(members):
                raise ValueError(f"asked for {per_class} videos of class {self.classes[old]!r}, it has {len(members)}")
            order = torch.randperm(len(members), generator=generator).tolist()
            keep = sorted(order[:per_class] if per_class is not None else order)
            picked += [dataclasses.replace(members[i], label=relabel[old]) for i in keep]
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.samples, clone.classes = picked, [self.classes[old] for old in chosen]
        clone.skipped = list(self.skipped)
        return clone


class VideoFolder(ClipDataset):
    """``root/<split>/<class>/<video>``: the layout of the UCF101 subset and of ``python -m vmp synth``."""

    def __init__(self, root: str | os.PathLike, split: str = "train", **options) -> None:
        directory = Path(root) / split
        if not directory.is_dir():
            raise FileNotFoundError(f"no split folder {directory} (expected {Path(root)}/<split>/<class>/<video>)")
        classes = sorted(p.name for p in directory.iterdir() if p.is_dir())
        if not classes:
            raise ValueError(f"no class folders in {directory}")
        samples = [
            VideoSample(path, label)
            for label, name in enumerate(classes)
            for path in sorted((directory / name).iterdir())
            if path.suffix.lower() in VIDEO_EXTENSIONS
        ]
        if not samples:
            raise ValueError(f"no videos ({', '.join(VIDEO_EXTENSIONS)}) under {directory}")
        super().__init__(samples, classes, **options)


class VideoList(ClipDataset):
    """Videos listed in a text file: ``path label [start end]`` per line, or a CSV with those columns.

    ``path`` is relative to ``root`` and may contain spaces (whitespace format: fields are split from
    the right); ``label`` is a class index or a class name; ``start``/``end`` cut a segment (frames,
    end exclusive) out of a long video, as in MPII Cooking 2 and FineGym. ``classes`` fixes the class
    list; without it the names found in the file, sorted, are the classes. ``suffix`` is appended
    to paths without an extension (FineGym clip ids).
    """

    def __init__(
        self,
        list_file: str | os.PathLike,
        root: str | os.PathLike | None = None,
        classes: Sequence[str] | None = None,
        suffix: str = "",
        **options,
    ) -> None:
        list_file = Path(list_file)
        root = Path(root) if root is not None else list_file.parent
        rows = list(_parse_list(list_file))
        if not rows:
            raise ValueError(f"{list_file} lists no videos")
        if classes is None:
            names = sorted({label for _, label, _, _, _ in rows})
            numeric = all(name.isdigit() for name in names)
            classes = [str(i) for i in range(max(map(int, names)) + 1)] if numeric else names
        classes = list(classes)
        samples = [
            VideoSample(_with_suffix(root / path, suffix), _label(label, classes, list_file, line), start, end)
            for path, label, start, end, line in rows
        ]
        super().__init__(samples, classes, **options)


def _with_suffix(path: Path, suffix: str) -> Path:
    return path if path.suffix or not suffix else path.with_name(path.name + suffix)


def _label(label: str, classes: list[str], list_file: Path, line_number: int) -> int:
    if label in classes:
        return classes.index(label)
    if label.isdigit() and int(label) < len(classes):
        return int(label)
    raise ValueError(f"{list_file}, line {line_number}: unknown class {label!r} ({len(classes)} classes known)")


def _parse_list(list_file: Path) -> Iterator[tuple[str, str, int | None, int | None, int]]:
    """Yield (path, label, start, end, line_number) from a whitespace or CSV list file."""
    if not list_file.is_file():
        raise FileNotFoundError(f"list file not found: {list_file}")
    text = list_file.read_text(encoding="utf-8").splitlines()
    is_csv = list_file.suffix.lower() == ".csv"
    records = csv.reader(text) if is_csv else (line.split() for line in text)
    for line_number, fields in enumerate(records, start=1):
        fields = [f.strip() for f in fields]
        if not fields or not any(fields) or fields[0].startswith("#"):
            continue
        if is_csv and line_number == 1 and fields[0].lower() == "path":
            continue  # header
        yield _fields(fields, is_csv, list_file, line_number) + (line_number,)


def _fields(
    fields: list[str], is_csv: bool, list_file: Path, line_number: int
) -> tuple[str, str, int | None, int | None]:
    where = f"{list_file}, line {line_number}"
    if is_csv:
        if len(fields) not in (2, 4):
            raise ValueError(f"{where}: expected path,label[,start,end], got {len(fields)} fields")
        path, label, *segment = fields
    elif len(fields) >= 4 and fields[-1].isdigit() and fields[-2].isdigit():
        path, label, segment = " ".join(fields[:-3]), fields[-3], fields[-2:]
    elif len(fields) >= 2:
        path, label, segment = " ".join(fields[:-1]), fields[-1], []
    else:
        raise ValueError(f"{where}: expected 'path label [start end]', got {' '.join(fields)!r}")
    if segment:
        if not all(s.isdigit() for s in segment):
            raise ValueError(f"{where}: start and end must be frame numbers, got {segment}")
        start, end = (int(s) for s in segment)
        if end <= start:
            raise ValueError(f"{where}: segment end {end} is not after start {start}")
        return path, label, start, end
    return path, label, None, None
