"""Profiles, splits and single runs of vmp.experiment, on data the tests generate."""

from __future__ import annotations

import dataclasses

import pytest
import torch

import vmp.data.download
import vmp.experiment as experiment
from vmp.data.synth import SynthConfig, generate
from vmp.experiment import get_profile, load_splits, train_and_test

TINY = SynthConfig(seed=1, classes=3, clips_per_class=5, frames=5, size=32)


@pytest.fixture(scope="module")
def tiny_book(tmp_path_factory):
    profile = get_profile("book", synthetic=TINY, frames=4, crop=32, short_side=40, epochs=2, batch_size=4)
    return profile, load_splits(profile, root=tmp_path_factory.mktemp("synthetic"))


def test_profiles_say_what_they_run():
    book, full = get_profile("book"), get_profile("full")
    assert book.weights is None and book.synthetic is not None and not book.flip
    assert full.weights == "kinetics" and full.synthetic is None
    config = full.train_config(seed=3, tav_weight=0.5)
    assert (config.optimizer, config.lr, config.schedule, tuple(config.milestones)) == ("sgd", 0.005, "step", (11, 14))
    assert (config.seed, config.tav_weight, config.epochs) == (3, 0.5, 25)
    assert get_profile("full", frames=32).frames == 32
    with pytest.raises(ValueError, match="unknown profile 'fast'"):
        get_profile("fast")


def test_book_splits_are_the_generated_benchmark_in_the_backbones_layout(tiny_book, tmp_path):
    profile, splits = tiny_book
    clip, label = splits.train[0]
    assert clip.shape == (3, 5, 32, 32) and splits.train.classes == splits.test.classes
    assert len(splits.train) + len(splits.val) + len(splits.test) == 15
    assert splits.train.cache is not None  # decoded once, kept in memory
    btchw = load_splits(profile, layout="BTCHW", root=tmp_path)
    assert btchw.val[0][0].shape == (5, 3, 32, 32)


def test_full_profile_reads_the_downloaded_subset(monkeypatch, tmp_path):
    root = generate(tmp_path / "ucf", TINY)  # stands in for the UCF101 subset's train/val/test folders
    asked = []
    monkeypatch.setattr(vmp.data.download, "ucf101_subset", lambda cache=None: asked.append(cache) or root)
    profile = get_profile("full", frames=4, crop=32, short_side=32)
    splits = load_splits(profile)
    assert asked == [None] and splits.root == root and splits.train.cache is None
    assert splits.train.transform.flip and not splits.test.transform.flip


def test_a_run_trains_tests_and_can_freeze_the_layer(tiny_book):
    profile, splits = tiny_book
    learned = train_and_test("tiny3d", profile, splits, seed=0, prompt_init=(0.0, 0.2))
    frozen = train_and_test("tiny3d", profile, splits, seed=0, prompt_init=(0.0, 0.2), learn_prompt=False)
    assert learned.initial == frozen.initial == pytest.approx((50.0, 0.6 * torch.tanh(torch.tensor(0.2)).item()))
    assert len(learned.history) == 2 and 0.0 <= learned.test["top1"] <= 1.0
    assert learned.history[-1]["shift"] != pytest.approx(learned.initial[1], abs=1e-7)
    assert frozen.history[-1]["shift"] == pytest.approx(frozen.initial[1], abs=1e-7)
    assert frozen.history[-1]["slope"] == pytest.approx(frozen.initial[0], abs=1e-5)
    baseline = train_and_test("tiny3d", profile, splits, input="frames")
    assert baseline.initial is None and baseline.model.prompt is None
    with pytest.raises(ValueError, match="unknown backbone 'resnet'"):
        train_and_test("resnet", profile, splits)


def test_the_seed_fixes_the_run(tiny_book):
    profile, splits = tiny_book
    short = dataclasses.replace(profile, epochs=1)
    first, again = (train_and_test("tiny3d", short, splits, seed=4) for _ in range(2))
    assert first.initial == again.initial and first.history[-1]["train_loss"] == again.history[-1]["train_loss"]
    assert train_and_test("tiny3d", short, splits, seed=5).initial != first.initial
