"""The motion-only synthetic benchmark: real files, deterministic, and no label in appearance."""

from __future__ import annotations

import hashlib
import json
import math

import pytest
import torch
from torch import nn

from vmp.__main__ import main
from vmp.data import VideoFolder, read_frames, video_info
from vmp.data.synth import (
    CLASSES,
    NO_DISTRACTORS,
    NUISANCE,
    SOURCE_CLASSES,
    Distractors,
    SynthConfig,
    clip_with_mask,
    generate,
    nuisance,
    split_sizes,
    trajectory,
)


def digests(root):
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*.mp4"))
    }


def test_cli_writes_the_folder_layout(tmp_path):
    main(["synth", "--out", str(tmp_path), "--classes", "3", "--clips-per-class", "5", "--frames", "9", "--size", "32"])
    manifest = json.loads((tmp_path / "synth.json").read_text())
    assert manifest["classes"] == list(CLASSES[:3]) and manifest["splits"] == {"train": 3, "val": 1, "test": 1}
    dataset = VideoFolder(tmp_path, "train", frames=9)
    assert sorted(dataset.classes) == sorted(CLASSES[:3]) and len(dataset) == 9
    info = video_info(dataset.samples[0].path)
    assert (info.frames, info.height, info.width) == (9, 32, 32)


def test_same_seed_same_files_other_seed_other_files(tmp_path):
    config = SynthConfig(seed=3, classes=2, clips_per_class=3, frames=6, size=32)
    first = digests(generate(tmp_path / "a", config))
    assert first == digests(generate(tmp_path / "b", config))
    assert first != digests(
        generate(tmp_path / "c", SynthConfig(seed=4, classes=2, clips_per_class=3, frames=6, size=32))
    )


def test_distractors_are_on_by_default_and_can_be_turned_off(tmp_path):
    noisy = generate(tmp_path / "noisy", SynthConfig(classes=1, clips_per_class=3, frames=6, size=32))
    clean = generate(
        tmp_path / "clean", SynthConfig(classes=1, clips_per_class=3, frames=6, size=32, distractors=NO_DISTRACTORS)
    )
    # a spinning sprite over a still background: without distractors, pixels far from it do not change
    def background_change(root):
        path = next((root / "train").rglob("*.mp4"))
        frames = read_frames(path, range(6)).float()
        return (frames[1:] - frames[:-1]).abs().median().item()
    assert background_change(clean) < 1.0 < background_change(noisy)


def test_nuisance_levels_are_named_and_light_is_the_historical_default(tmp_path):
    assert nuisance("light") == Distractors() and nuisance("none") == NO_DISTRACTORS
    with pytest.raises(ValueError, match="unknown nuisance level 'extreme'"):
        nuisance("extreme")
    main(["synth", "--out", str(tmp_path / "cli"), "--classes", "2", "--clips-per-class", "3", "--frames", "6",
          "--size", "32", "--nuisance", "light"])
    default = generate(tmp_path / "default", SynthConfig(classes=2, clips_per_class=3, frames=6, size=32))
    assert digests(tmp_path / "cli") == digests(default)  # today's default, reproducible under its name
    main(["synth", "--out", str(tmp_path / "heavy"), "--classes", "2", "--clips-per-class", "3", "--frames", "6",
          "--size", "32", "--nuisance", "heavy"])
    manifest = json.loads((tmp_path / "heavy" / "synth.json").read_text())
    assert manifest["distractors"]["decoys"] == NUISANCE["heavy"].decoys > 0


def _changes(level: str) -> tuple[float, float, float]:
    """Mean |gray change| off the sprite, the fraction of it above 0.15, and the same fraction on the sprite."""
    off_sum = off_big = on_big = 0.0
    for number in range(6):
        clip, mask = clip_with_mask(SynthConfig(frames=9, size=64, distractors=nuisance(level)), number % 6, number)
        gray = torch.from_numpy(clip).float().div(255) @ torch.tensor([0.299, 0.587, 0.114])
        change = gray.diff(dim=0).abs()
        on = torch.from_numpy(mask[1:] > 0.5) | torch.from_numpy(mask[:-1] > 0.5)
        off_sum += change[~on].mean().item() / 6
        off_big += (change[~on] > 0.15).float().mean().item() / 6
        on_big += (change[on] > 0.15).float().mean().item() / 6
    return off_sum, off_big, on_big


def test_heavy_nuisance_adds_small_changes_everywhere_that_a_threshold_removes():
    light, heavy = _changes("light"), _changes("heavy")
    assert heavy[0] > 1.5 * light[0], "heavy nuisance changes many more background pixels"
    assert heavy[1] < 0.1 < heavy[2], "most nuisance changes are small, the sprite's are not"


def test_the_source_task_has_its_own_coarse_classes(tmp_path):
    config = SynthConfig(task="source", classes=8, clips_per_class=3, frames=6, size=32)
    assert config.class_names == SOURCE_CLASSES and not set(SOURCE_CLASSES) & set(CLASSES)
    manifest = json.loads((generate(tmp_path, config) / "synth.json").read_text())
    assert manifest["classes"] == list(SOURCE_CLASSES)
    assert sorted(p.name for p in (tmp_path / "train").iterdir()) == sorted(SOURCE_CLASSES)
    with pytest.raises(ValueError, match="task must be one of"):
        _ = SynthConfig(task="kinetics").class_names
    with pytest.raises(ValueError, match="between 1 and 8 for the source task"):
        generate(tmp_path, SynthConfig(task="source", classes=9))


def test_fine_grained_pairs_differ_only_in_speed_or_timing():
    right, _ = trajectory("right", 17, 64)
    fast, _ = trajectory("right-fast", 17, 64)
    go_stop, _ = trajectory("go-stop", 17, 64)
    stop_go, _ = trajectory("stop-go", 17, 64)
    assert (fast[:, 0] == 2 * right[:, 0]).all() and (fast[:, 1] == 0).all()
    assert go_stop[-1, 0] == stop_go[-1, 0] and (go_stop[:9] != stop_go[:9]).any()


def test_bad_configurations():
    with pytest.raises(ValueError, match="at least 3 clips"):
        split_sizes(2)
    with pytest.raises(ValueError, match="classes must be between"):
        generate("/nonexistent", SynthConfig(classes=13))
    with pytest.raises(ValueError, match="unknown motion class"):
        trajectory("moonwalk", 5, 64)


# The label is in the motion, not in the appearance ------------------------------------------------

CLIPS_PER_CLASS, FRAMES, SIZE = 60, 9, 32


def small_cnn(channels: int, classes: int) -> nn.Module:
    """The same translation-invariant CNN for both inputs (BatchNorm for fast, stable training)."""
    def block(cin, cout):
        return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU()]
    return nn.Sequential(*block(channels, 32), *block(32, 64), nn.MaxPool2d(2), *block(64, 64),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, classes))


def test_accuracy(train_x, train_y, test_x, test_y, epochs: int = 25) -> float:
    torch.manual_seed(0)
    model = small_cnn(train_x.shape[1], len(CLASSES))
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(epochs):
        for batch in torch.randperm(len(train_x)).split(48):
            loss = nn.functional.cross_entropy(model(train_x[batch]), train_y[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    model.eval()
    with torch.no_grad():
        return (model(test_x).argmax(1) == test_y).float().mean().item()


test_accuracy.__test__ = False  # a helper, not a test


@pytest.fixture(scope="module", params=["light", "heavy"])
def clips(tmp_path_factory, request):
    config = SynthConfig(seed=11, clips_per_class=CLIPS_PER_CLASS, frames=FRAMES, size=SIZE,
                         distractors=nuisance(request.param))
    root = generate(tmp_path_factory.mktemp("synth"), config)

    def load(split):
        dataset = VideoFolder(root, split, frames=FRAMES, mode="center")
        frames = torch.stack([read_frames(s.path, range(FRAMES)) for s in dataset.samples]).float() / 255
        labels = torch.tensor([CLASSES.index(dataset.classes[s.label]) for s in dataset.samples])
        return frames.permute(0, 1, 4, 2, 3), labels  # (N, T, C, H, W)

    return load("train"), load("test")


def test_single_frames_score_at_chance_while_frame_differences_do_not(clips):
    (train, train_y), (test, test_y) = clips
    chance = 1 / len(CLASSES)
    margin = 3 * math.sqrt(chance * (1 - chance) / len(test_y))  # 3 binomial standard deviations
    middle = FRAMES // 2
    single = test_accuracy(train[:, middle], train_y, test[:, middle], test_y)

    def differences(frames):
        gray = (frames * torch.tensor([0.299, 0.587, 0.114]).view(1, 1, 3, 1, 1)).sum(2)
        return gray.diff(dim=1)

    motion = test_accuracy(differences(train), train_y, differences(test), test_y)
    print(f"chance {chance:.3f} +- {margin:.3f}: single frame {single:.3f}, frame differences {motion:.3f}")
    assert abs(single - chance) < margin, "a single frame must not reveal the class"
    assert motion > chance + margin, "frame differences must reveal the class"


def test_nuisance_kinds_separate_the_heavy_level_on_its_scene():
    heavy = NUISANCE["heavy"]
    sensor, shake, distractors, still = (NUISANCE[k] for k in ("sensor", "shake", "distractors", "still"))
    for kind in (sensor, shake, distractors, still):  # the same dim, textured scene and lit actor
        assert (kind.textured, kind.background_contrast, kind.background_level, kind.sprite_floor) == \
            (heavy.textured, heavy.background_contrast, heavy.background_level, heavy.sprite_floor)
    assert (sensor.noise_std, sensor.flicker, sensor.patch_flicker) == (
        heavy.noise_std,
        heavy.flicker,
        heavy.patch_flicker,
    )
    assert sensor.shake == sensor.decoys == sensor.shimmers == 0
    assert shake.shake == heavy.shake and shake.noise_std == shake.flicker == shake.decoys == shake.patches == 0
    assert (distractors.decoys, distractors.shimmers) == (heavy.decoys, heavy.shimmers)
    assert distractors.noise_std == distractors.shake == distractors.patches == 0
    assert still.noise_std == still.flicker == still.shake == still.decoys == still.patches == still.shimmers == 0


def test_split_clips_sets_each_split_and_is_checked():
    assert split_sizes(50, (100, 50, 100)) == {"train": 100, "val": 50, "test": 100}
    with pytest.raises(ValueError, match="three counts"):
        split_sizes(50, (10, 0, 5))


def test_a_shortcut_cue_follows_the_class_in_training_and_not_in_test():
    import numpy as np

    from vmp.data.synth import shortcut_cue

    config = SynthConfig(classes=6, shortcut="scene", shortcut_rho=0.9)
    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        cues = [shortcut_cue(config, 2, split, rng) for _ in range(4000)]
        assert 0.88 < cues.count(2) / 4000 < 0.92 and set(cues) == set(range(6))
    cues = [shortcut_cue(config, 2, "test", rng) for _ in range(6000)]
    assert all(0.14 < cues.count(k) / 6000 < 0.19 for k in range(6))  # uniform: independent of the class


def test_scene_shortcut_gives_a_class_its_background_and_other_configurations_are_unchanged(tmp_path):
    import numpy as np

    base = SynthConfig(seed=5, classes=2, frames=4, size=32, distractors=NUISANCE["still"], split_clips=(6, 1, 6))
    scene = SynthConfig(**{**base.__dict__, "shortcut": "scene", "shortcut_rho": 1.0})
    # rho = 1: every training clip of a class shows the same background where the sprite is not
    first, second = (clip_with_mask(scene, 0, number) for number in (0, 1))
    outside = (first[1][0] < 0.01) & (second[1][0] < 0.01)
    same = np.abs(first[0][0].astype(int) - second[0][0].astype(int))[outside]
    assert same.max() <= 3 and same.mean() < 0.1  # (the sprite's faint anti-aliased edge aside)
    other_class = clip_with_mask(scene, 1, 0)
    outside = (first[1][0] < 0.01) & (other_class[1][0] < 0.01)
    assert np.abs(first[0][0].astype(int) - other_class[0][0].astype(int))[outside].mean() > 5
    # without a shortcut, the clips are those of the configuration without the new fields
    assert np.array_equal(clip_with_mask(base, 1, 3)[0], clip_with_mask(SynthConfig(
        seed=5, classes=2, frames=4, size=32, distractors=NUISANCE["still"], split_clips=(6, 1, 6)), 1, 3)[0])
    with pytest.raises(ValueError, match="shortcut must be one of"):
        generate(tmp_path, SynthConfig(classes=2, clips_per_class=3, frames=4, size=32, shortcut="colour"))


def test_the_directed_source_task_puts_the_slides_direction_in_the_label():
    import dataclasses

    import numpy as np

    from vmp.data.synth import DIRECTED_SLIDES, source_trajectory
    from vmp.pretrain import DIRECTED_SOURCE, SOURCE

    assert DIRECTED_SOURCE.classes * DIRECTED_SOURCE.clips_per_class == SOURCE.classes * SOURCE.clips_per_class
    assert set(DIRECTED_SOURCE.class_names) >= set(DIRECTED_SLIDES) and "slide-h" not in DIRECTED_SOURCE.class_names
    for name, (pooled, sign) in DIRECTED_SLIDES.items():
        for number in range(5):
            moves, _ = source_trajectory(pooled, 9, 80, np.random.default_rng(number), sign)
            axis = 0 if pooled == "slide-h" else 1
            assert np.sign(moves[-1, axis]) == sign, (name, number)
    # forcing the sign draws the same random numbers, so the rest of a clip is as the pooled task makes it
    pooled_moves, _ = source_trajectory("slide-h", 9, 80, np.random.default_rng(3))
    forced_moves, _ = source_trajectory("slide-h", 9, 80, np.random.default_rng(3), 1.0)
    assert np.allclose(abs(pooled_moves), abs(forced_moves))
    with pytest.raises(ValueError, match="task must be one of"):
        _ = dataclasses.replace(SOURCE, task="nope").class_names


def test_the_diagonal_source_task_keeps_direction_only_where_no_target_class_lives(tmp_path):
    import dataclasses

    import numpy as np

    from vmp.data.synth import CLASSES, DIRECTED_DIAGONALS, render, source_trajectory
    from vmp.pretrain import DIAGONAL_SOURCE, SOURCE

    names = DIAGONAL_SOURCE.class_names
    assert not set(names) & set(CLASSES)  # disjoint from the target's classes
    assert abs(DIAGONAL_SOURCE.classes * DIAGONAL_SOURCE.clips_per_class - SOURCE.classes * SOURCE.clips_per_class) < 11
    assert set(names) - set(DIRECTED_DIAGONALS) == set(SOURCE.class_names) - {"diagonal"}
    for name, sense in DIRECTED_DIAGONALS.items():
        for number in range(5):
            moves, _ = source_trajectory("diagonal", 9, 80, np.random.default_rng(number), diagonal_sense=sense)
            assert tuple(np.sign(moves[-1])) == sense, (name, number)
    # fixing the senses draws the same random numbers: speed and the rest of the clip are the pooled task's
    pooled, _ = source_trajectory("diagonal", 9, 80, np.random.default_rng(3))
    forced, _ = source_trajectory("diagonal", 9, 80, np.random.default_rng(3), diagonal_sense=(1.0, -1.0))
    assert np.allclose(abs(pooled), abs(forced))
    diagonal = dataclasses.replace(DIAGONAL_SOURCE, size=32, frames=5)
    for name in DIRECTED_DIAGONALS:
        frames, _ = render(diagonal, names.index(name), np.random.default_rng(7), _backgrounds(32))
        assert frames.shape == (5, 32, 32, 3)


def _backgrounds(size):
    from vmp.data.synth import _Backgrounds

    return _Backgrounds(size, False)
