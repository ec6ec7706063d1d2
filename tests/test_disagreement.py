"""Error analysis: the clips two inputs disagree on, and what is measured about them."""

import matplotlib
import numpy as np
import pytest
import torch

matplotlib.use("Agg")

from vmp.book.disagreement import (
    actor_motion_share,
    actor_motion_shares,
    clip_identity,
    disagreements,
    outcomes_over_seeds,
    predictions,
    seed_counts,
)


def test_disagreements_keep_only_clips_exactly_one_input_gets_right():
    labels = [0, 1, 2, 3, 0]
    frames = [0, 2, 2, 1, 1]  # right, wrong, right, wrong, wrong
    vmp = [0, 1, 1, 2, 1]  # right, right, wrong, wrong, wrong
    found = disagreements(labels, frames, vmp)
    assert [clip.index for clip in found] == [1, 2]  # both wrong (3, 4) is no disagreement
    assert [clip.winner for clip in found] == ["second", "first"]
    assert found[0] == (1, 1, 2, 1)
    with pytest.raises(ValueError, match="one label and two predictions"):
        disagreements(labels, frames, vmp[:-1])


def test_seed_counts_add_each_side_per_class_over_seeds():
    records = {"classes": ["right", "left"], "labels": [0, 0, 1], "seeds": [0, 1],
               "runs": [{"input": "frames", "seed": 0, "predictions": [0, 1, 1]},
                        {"input": "vmp", "seed": 0, "predictions": [1, 0, 1]},
                        {"input": "frames", "seed": 1, "predictions": [0, 0, 0]},
                        {"input": "vmp", "seed": 1, "predictions": [0, 0, 1]}]}
    counts = seed_counts(records)
    assert counts["first"] == {"right": 1} and counts["second"] == {"right": 1, "left": 1}


def test_outcomes_over_seeds_count_each_clips_fate_per_seed():
    records = {"labels": [0, 1, 1], "seeds": [0, 1],
               "runs": [{"input": "frames", "seed": 0, "predictions": [0, 0, 1]},
                        {"input": "vmp", "seed": 0, "predictions": [1, 1, 1]},
                        {"input": "frames", "seed": 1, "predictions": [0, 0, 0]},
                        {"input": "vmp", "seed": 1, "predictions": [0, 0, 1]}]}
    outcomes = outcomes_over_seeds(records)
    assert outcomes == {"first": [1, 0, 0], "second": [0, 1, 1], "both right": [1, 0, 1], "both wrong": [0, 1, 0]}
    assert [sum(column) for column in zip(*outcomes.values())] == [2, 2, 2]  # one outcome per clip and seed


def test_actor_motion_shares_render_the_named_clips_again():
    from vmp.data.synth import NO_DISTRACTORS, SynthConfig

    quiet = SynthConfig(classes=2, clips_per_class=3, frames=4, size=16, footage_backgrounds=False,
                        distractors=NO_DISTRACTORS)
    shares = actor_motion_shares(quiet, ["right_0002", "left_0001"])
    assert len(shares) == 2 and all(share > 0.9 for share in shares)  # nothing but the actor moves


def test_clip_identity_reads_class_and_number_from_the_file_name():
    assert clip_identity("/data/test/right-fast/right-fast_0042.mp4") == ("right-fast", 42)
    with pytest.raises(ValueError, match="not a synthetic clip"):
        clip_identity("/data/test/right/clip.mp4")


def test_actor_motion_share_is_the_actors_part_of_the_change():
    clip = np.zeros((3, 4, 4, 3), dtype=np.uint8)
    mask = np.zeros((3, 4, 4))
    mask[:, 0, 0] = 1
    clip[1, 0, 0] = 100  # the actor changes ...
    assert actor_motion_share(clip, mask) == pytest.approx(1.0)
    clip[1, 3, 3] = 100  # ... and one background pixel as much
    assert actor_motion_share(clip, mask) == pytest.approx(0.5)
    assert actor_motion_share(np.zeros_like(clip), mask) == 0.0


def test_predictions_follow_the_dataset_order_in_batches():
    class Scores(torch.nn.Module):  # class = the clip's first value, as the model's output tuple
        def __init__(self):
            super().__init__()
            self.unused = torch.nn.Parameter(torch.zeros(1))

        def forward(self, clips):
            return torch.nn.functional.one_hot(clips[:, 0].long(), 4).float(), None

    dataset = [(torch.tensor([float(label), 0.0]), label) for label in (3, 1, 2, 0, 1)]
    assert predictions(Scores(), dataset, batch_size=2) == [3, 1, 2, 0, 1]


def test_disagreement_grid_draws_frames_over_attention_with_both_predictions():
    from vmp.book.viz import disagreement_grid

    clips, maps = [torch.rand(4, 8, 8, 3)] * 2, [torch.rand(4, 8, 8)] * 2
    figure = disagreement_grid(clips, maps, [0, 1], [0, 2], [1, 1], ["right", "left", "up"])
    images = [axis for axis in figure.axes if axis.images]
    assert len(images) == 2 * 2 * 4  # two clips, frames and attention, four frames
    labels = [axis.get_ylabel() for axis in images if axis.get_ylabel()]
    assert labels[0] == "true: right\nframes: right \u2713\nVMP: left \u2717" and labels[1] == "attention"
    with pytest.raises(ValueError, match="no clips"):
        disagreement_grid([], [], [], [], [], ["right"])


def test_confusion_kind_reads_what_a_mistake_confuses_from_the_trajectories():
    from vmp.book.disagreement import confusion_kind

    assert confusion_kind("right", "right-fast") == confusion_kind("right-fast", "right") == "speed"
    assert confusion_kind("up", "down") == "opposite direction"
    assert confusion_kind("down", "left") == "another direction"
    assert confusion_kind("left", "spin-cw") == confusion_kind("spin-cw", "up") == "rotation vs translation"
    assert confusion_kind("right", "go-stop") == confusion_kind("spin-cw", "spin-ccw") == "other"
