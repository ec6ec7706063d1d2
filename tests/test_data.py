"""Video reading, clip sampling, transforms and datasets, on real files the tests write."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from videos import decode_indices, write_indexed_video

import vmp.data.io as video_io
from vmp.data import (
    ClipTransform,
    VideoFolder,
    VideoList,
    VideoReadError,
    clip_indices,
    read_frames,
    sample_video,
    three_crop,
    video_info,
    write_video,
)
from vmp.data.datasets import ClipDataset, VideoSample

FORMATS = [".mp4", ".avi", ".webm", ".mkv"]
BACKENDS = ["decord", "pyav"] if video_io.decord is not None else ["pyav"]
WANTED = [0, 5, 39, 17, 17, 1, 38]


@pytest.fixture(scope="module")
def indexed(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("indexed")
    return {ext: write_indexed_video(folder / f"count{ext}") for ext in FORMATS}


@pytest.mark.parametrize("backend", BACKENDS + [None])
@pytest.mark.parametrize("ext", FORMATS)
def test_index_i_is_frame_i(indexed, ext, backend):
    frames = read_frames(indexed[ext], WANTED, backend=backend)
    assert frames.dtype == torch.uint8 and frames.shape == (len(WANTED), 48, 96, 3)
    assert decode_indices(frames) == WANTED


@pytest.mark.parametrize("backend", BACKENDS)
def test_random_access_far_from_a_keyframe(tmp_path, backend):
    path = write_indexed_video(tmp_path / "long.mp4", count=300)
    wanted = [299, 7, 150, 251, 0, 123]
    assert decode_indices(read_frames(path, wanted, backend=backend)) == wanted


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("ext", FORMATS)
def test_video_info(indexed, ext, backend):
    info = video_info(indexed[ext], backend=backend)
    assert (info.frames, info.height, info.width) == (40, 48, 96)
    assert info.fps == pytest.approx(25)


def test_frames_are_rgb(tmp_path):
    red = np.zeros((3, 32, 32, 3), np.uint8)
    red[..., 0] = 220
    frames = read_frames(write_video(tmp_path / "red.mp4", red), [1])
    assert frames[0, ..., 0].float().mean() > 180 and frames[0, ..., 2].float().mean() < 60


def test_pyav_takes_over_when_decord_fails(indexed, monkeypatch):
    def broken(path, indices):
        raise RuntimeError("decord cannot read this")

    monkeypatch.setattr(video_io, "_decord_read", broken)
    assert decode_indices(read_frames(indexed[".mp4"], WANTED)) == WANTED


@pytest.mark.skipif(video_io.decord is None, reason="decord not installed")
def test_a_real_decord_failure_falls_back_to_pyav(tmp_path):
    """decord 0.6 pads rows to 32 pixels and rejects a 72-pixel-wide video; PyAV reads it."""
    path = write_indexed_video(tmp_path / "narrow.mp4", count=10, width=72)
    with pytest.raises(VideoReadError, match="narrow.mp4"):
        read_frames(path, [0], backend="decord")
    assert decode_indices(read_frames(path, [9, 2])) == [9, 2]


def test_pyav_alone_when_decord_is_missing(indexed, monkeypatch):
    monkeypatch.setattr(video_io, "decord", None)
    assert decode_indices(read_frames(indexed[".mkv"], WANTED)) == WANTED
    with pytest.raises(ValueError, match="decord is not installed"):
        read_frames(indexed[".mkv"], [0], backend="decord")


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.mp4"):
        read_frames(tmp_path / "nowhere.mp4", [0])


def test_non_video_and_truncated_files_are_named(tmp_path, indexed):
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    with pytest.raises(VideoReadError, match="notes.mp4"):
        read_frames(text, [0])
    truncated = tmp_path / "cut.mp4"
    truncated.write_bytes(indexed[".mp4"].read_bytes()[:400])
    with pytest.raises(VideoReadError, match="cut.mp4"):
        video_info(truncated)


@pytest.mark.parametrize("backend", BACKENDS)
def test_index_out_of_range_names_file_and_count(indexed, backend):
    with pytest.raises(IndexError, match=r"frame index 40 .*count\.mp4.* 40 frames"):
        read_frames(indexed[".mp4"], [3, 40], backend=backend)


def test_sample_footage_is_real_video():
    info = video_info(sample_video("bigbuckbunny"))
    assert (info.frames, info.width, info.height) == (132, 1280, 720)
    assert video_info(sample_video("bikes")).frames == 250
    assert sample_video("carphone").name == "carphone_pristine.mp4"
    with pytest.raises(ValueError, match="unknown sample video"):
        sample_video("cats")


# clip sampling ---------------------------------------------------------------------------------


def test_random_clips_stay_inside_and_follow_the_rate():
    generator = torch.Generator().manual_seed(0)
    starts = set()
    for _ in range(200):
        (clip,) = clip_indices(100, 9, rate=4, mode="random", generator=generator)
        assert len(clip) == 9 and clip[0] >= 0 and clip[-1] <= 99
        assert all(b - a == 4 for a, b in zip(clip, clip[1:]))
        starts.add(clip[0])
    assert min(starts) == 0 and max(starts) == 100 - 33  # every start is reachable


def test_center_and_uniform_views():
    assert clip_indices(21, 5, rate=2, mode="center") == [[6, 8, 10, 12, 14]]
    views = clip_indices(21, 5, rate=2, mode="uniform", views=3)
    assert [v[0] for v in views] == [0, 6, 12] and views[-1][-1] == 20


def test_short_video_repeats_its_last_frame():
    assert clip_indices(4, 6, rate=1, mode="center") == [[0, 1, 2, 3, 3, 3]]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"mode": "sideways"}, "mode"),
        ({"views": 3}, "one view"),
        ({"rate": 0}, "positive"),
        ({"frames": 0}, "positive"),
    ],
)
def test_bad_sampling_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        clip_indices(10, **{"frames": 4, **kwargs})


# transforms ------------------------------------------------------------------------------------


def still_clip(frames: int = 5, height: int = 60, width: int = 80) -> torch.Tensor:
    image = torch.randint(0, 256, (height, width, 3), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    return image.expand(frames, -1, -1, -1).contiguous()


@pytest.mark.parametrize("layout, shape", [("BCTHW", (3, 5, 32, 32)), ("BTCHW", (5, 3, 32, 32))])
def test_transform_output_layout(layout, shape):
    out = ClipTransform(size=32, layout=layout, train=False)(still_clip())
    assert out.shape == shape and out.dtype == torch.float32 and out.is_contiguous()


def test_training_crop_and_flip_are_the_same_for_every_frame():
    torch.manual_seed(0)
    out = ClipTransform(size=32, short_side=48, layout="BTCHW")(still_clip())
    assert all(torch.equal(out[0], frame) for frame in out)  # a still clip stays still


def test_normalisation_uses_mean_and_std():
    white = torch.full((2, 40, 40, 3), 255, dtype=torch.uint8)
    out = ClipTransform(size=32, train=False, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))(white)
    torch.testing.assert_close(out, torch.full_like(out, 2.0))


def test_three_crop_covers_the_long_side():
    clip = torch.arange(40 * 100).reshape(1, 40, 100).float()
    left, middle, right = three_crop(clip, 40)
    assert left[0, 0, 0] == 0 and right[0, 0, -1] == 99 and middle[0, 0, 0] == 30
    views = ClipTransform(size=32, train=False, spatial_views=3)(still_clip())
    assert views.shape == (3, 3, 5, 32, 32)


def test_bad_transform_arguments():
    with pytest.raises(ValueError, match="spatial_views"):
        ClipTransform(spatial_views=2)
    with pytest.raises(ValueError, match="smaller than the crop"):
        ClipTransform(size=64, short_side=32)
    with pytest.raises(ValueError, match=r"\(T, H, W, 3\)"):
        ClipTransform()(torch.zeros(5, 3, 32, 32, dtype=torch.uint8))


# datasets --------------------------------------------------------------------------------------


@pytest.fixture()
def folder(tmp_path) -> Path:
    for split in ("train", "val"):
        for label, name in enumerate(["jump", "run", "walk"]):
            for number in range(4):
                write_indexed_video(tmp_path / split / name / f"{name}{number}.mp4", count=12 + label)
    return tmp_path


def test_video_folder_labels_and_clips(folder):
    dataset = VideoFolder(folder, "train", frames=5, rate=2, mode="center")
    assert dataset.classes == ["jump", "run", "walk"] and len(dataset) == 12
    clip, label = dataset[4]
    assert label == 1 and clip.shape == (5, 48, 96, 3)
    assert decode_indices(clip) == [2, 4, 6, 8, 10]  # 13 frames, span 9, centred


def test_video_folder_multiview_with_transform(folder):
    transform = ClipTransform(size=32, train=False, spatial_views=3)
    dataset = VideoFolder(folder, "val", frames=4, mode="uniform", temporal_views=2, transform=transform)
    clip, _ = dataset[0]
    assert clip.shape == (6, 3, 4, 32, 32)  # 2 temporal x 3 spatial views


def test_random_positions_change_with_epoch_but_reproduce(folder):
    dataset = VideoFolder(folder, "train", frames=3, seed=7)
    first = [dataset.indices(i) for i in range(len(dataset))]
    assert first == [dataset.indices(i) for i in range(len(dataset))]
    dataset.set_epoch(1)
    assert first != [dataset.indices(i) for i in range(len(dataset))]


def test_cache_decodes_each_video_once_and_changes_nothing(folder, monkeypatch):
    import vmp.data.datasets as datasets

    reads = []
    real_read = datasets.read_frames
    monkeypatch.setattr(
        datasets,
        "read_frames",
        lambda path, indices, backend=None: reads.append(path) or real_read(path, indices, backend),
    )
    plain = VideoFolder(folder, "train", frames=4, rate=2, seed=3)
    cached = VideoFolder(folder, "train", frames=4, rate=2, seed=3, cache=True)
    for epoch in range(2):
        plain.set_epoch(epoch)
        cached.set_epoch(epoch)
        for index in range(len(plain)):
            expected, label = plain[index]
            reads.clear()
            clip, cached_label = cached[index]
            assert torch.equal(clip, expected) and label == cached_label
            assert reads == ([] if epoch else [cached.samples[index].path])
    reads.clear()
    part = cached.subset(num_classes=2, per_class=2, seed=1)  # relabelled samples, same frames
    assert [part[i][0].shape for i in range(len(part))] and reads == []
    segment = VideoList.__new__(VideoList)  # a segment is cached by itself, in its own numbering
    ClipDataset.__init__(
        segment, [VideoSample(plain.samples[0].path, 0, 4, 10)], ["jump"], frames=3, mode="center", cache=True
    )
    assert decode_indices(segment[0][0]) == [5, 6, 7]


def test_subset_is_deterministic_and_relabelled(folder):
    dataset = VideoFolder(folder, "train", frames=3)
    first = dataset.subset(num_classes=2, per_class=3, seed=5)
    again = dataset.subset(num_classes=2, per_class=3, seed=5)
    assert [s.path for s in first.samples] == [s.path for s in again.samples]
    assert len(first) == 6 and sorted({s.label for s in first.samples}) == [0, 1]
    assert all(first.classes[s.label] == s.path.parent.name for s in first.samples)
    assert len(dataset) == 12  # the original is untouched
    with pytest.raises(ValueError, match="asked for 5 videos"):
        dataset.subset(num_classes=2, per_class=5)
    with pytest.raises(ValueError, match="asked for 4 classes"):
        dataset.subset(num_classes=4)


def test_unreadable_video_raises_or_is_skipped_and_counted(folder):
    bad = folder / "train" / "run" / "broken.mp4"
    bad.write_bytes(b"\x00" * 100)
    dataset = VideoFolder(folder, "train", frames=3)
    broken_index = [s.path for s in dataset.samples].index(bad)
    with pytest.raises(VideoReadError, match="broken.mp4"):
        dataset[broken_index]
    with pytest.warns(UserWarning, match="skipped 1 unreadable"):
        skipping = VideoFolder(folder, "train", frames=3, on_error="skip")
    assert len(skipping) == 12 and [p.name for p, _ in skipping.skipped] == ["broken.mp4"]


def test_missing_split_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="test"):
        VideoFolder(tmp_path, "test")


def test_list_file_with_spaces_segments_and_names(tmp_path):
    long_video = write_indexed_video(tmp_path / "long take.mp4", count=60)
    write_indexed_video(tmp_path / "short.mp4", count=20)
    listing = tmp_path / "split.txt"
    listing.write_text("# path label [start end]\nlong take.mp4 stir 10 20\nshort.mp4 cut\n\nlong take.mp4 cut 40 60\n")
    dataset = VideoList(listing, frames=4, mode="center")
    assert dataset.classes == ["cut", "stir"]
    assert [(s.label, s.start, s.end) for s in dataset.samples] == [(1, 10, 20), (0, None, None), (0, 40, 60)]
    assert dataset.samples[0].path == long_video
    clip, label = dataset[0]
    assert label == 1 and decode_indices(clip) == [13, 14, 15, 16]  # centred inside frames 10..19
    assert decode_indices(dataset[2][0]) == [48, 49, 50, 51]


def test_csv_list_with_header_and_class_list(tmp_path):
    write_indexed_video(tmp_path / "a.mp4", count=10)
    listing = tmp_path / "split.csv"
    listing.write_text("path,label,start,end\na.mp4,1,0,8\na.mp4,0,2,10\n")
    dataset = VideoList(listing, classes=["pour", "peel"], frames=2, mode="center")
    assert [s.label for s in dataset.samples] == [1, 0]
    assert decode_indices(dataset[0][0]) == [3, 4]


def test_finegym_style_ids_get_a_suffix(tmp_path):
    write_indexed_video(tmp_path / "abc_E_001_002_A_0003_0004.mp4", count=8)
    listing = tmp_path / "gym99.txt"
    listing.write_text("abc_E_001_002_A_0003_0004 7\n")
    dataset = VideoList(listing, suffix=".mp4", frames=2)
    assert dataset.samples[0].path.name == "abc_E_001_002_A_0003_0004.mp4" and dataset.samples[0].label == 7
    assert len(dataset.classes) == 8


@pytest.mark.parametrize(
    "content, message",
    [
        ("a.mp4 stir\nb.mp4 fry\n", r"line 2: unknown class 'fry'"),
        ("a.mp4 stir\nlonely\n", r"line 2: expected 'path label"),
        ("a.mp4 stir 20 10\n", r"line 1: segment end 10 is not after start 20"),
    ],
)
def test_bad_list_lines_are_reported_with_line_numbers(tmp_path, content, message):
    listing = tmp_path / "split.txt"
    listing.write_text(content)
    with pytest.raises(ValueError, match=message):
        VideoList(listing, classes=["stir"], frames=2)


def test_bad_csv_line(tmp_path):
    listing = tmp_path / "split.csv"
    listing.write_text("path,label\na.mp4,0\nb.mp4,0,5\n")
    with pytest.raises(ValueError, match=r"split\.csv, line 3: expected path,label\[,start,end\]"):
        VideoList(listing, frames=2)


def test_write_video_rejects_bad_frames(tmp_path):
    with pytest.raises(ValueError, match="uint8"):
        write_video(tmp_path / "x.mp4", np.zeros((2, 8, 8, 3), np.float32))
    with pytest.raises(ValueError, match="even"):
        write_video(tmp_path / "x.mp4", np.zeros((2, 9, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="extension"):
        write_video(tmp_path / "x.gif", np.zeros((2, 8, 8, 3), np.uint8))
    assert not list(tmp_path.iterdir())  # nothing half-written is left behind
