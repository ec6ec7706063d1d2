"""A backbone is one registry entry, an input stage one entry of its own, and every checkpoint the
package writes rebuilds itself: a toy backbone trains through build_model and the experiment API,
and a train_and_test checkpoint reloads (load_trained, python -m vmp eval) to the same predictions."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from torch import nn

import vmp.book.playground as playground
import vmp.experiment as experiment
import vmp.models.backbones as backbones
import vmp.pretrain as pretrain
from vmp.__main__ import main
from vmp.data import ClipTransform
from vmp.data.synth import SynthConfig
from vmp.experiment import get_profile, load_splits, train_and_test
from vmp.models import (
    INPUT_STAGES,
    REGISTRY,
    SPECS,
    Backbone,
    BackboneSpec,
    build_model,
    register_backbone,
    registry,
    with_motion_prompt,
)
from vmp.models.stages import FixedStage
from vmp.train import evaluate, load_trained

TINY = SynthConfig(seed=1, classes=3, clips_per_class=5, frames=5, size=32)
TOY_NORMALISATION = ((0.5, 0.4, 0.3), (0.25, 0.2, 0.3))


class ToyNet(nn.Module):
    """A BTCHW network that is not a Hugging Face model: mean colour per frame, a linear map, a head."""

    def __init__(self, num_classes: int, width: int = 4) -> None:
        super().__init__()
        self.embed = nn.Linear(3, width)
        self.head = nn.Linear(width, num_classes)

    def forward(self, clip: torch.Tensor) -> torch.Tensor:  # (B, T, C, H, W) -> (B, classes)
        return self.head(torch.relu(self.embed(clip.mean(dim=(3, 4)))).mean(dim=1))


def build_toy(num_classes: int, frames: int, crop: int, weights: str | None, width: int = 4) -> nn.Module:
    return ToyNet(num_classes, width)


@pytest.fixture
def toy():
    """The one entry that adds the toy backbone to every consumer (removed afterwards)."""
    entry = register_backbone(Backbone("toy", BackboneSpec("BTCHW", 4, 32, *TOY_NORMALISATION), build_toy,
                                       title="Toy", finetune={"lr": 0.02}))
    yield entry
    del REGISTRY["toy"]


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return tmp_path_factory.mktemp("synthetic")


def tiny_profile(**changes):
    # short_side 37 is what python -m vmp eval's transform takes for a 32-pixel crop (32 * 256 / 224)
    return get_profile("book", **{"synthetic": TINY, "frames": 4, "crop": 32, "short_side": 37, "epochs": 1,
                                  "batch_size": 4, "weights": None, **changes})


def test_a_toy_backbone_is_one_registry_entry_and_trains_through_build_model_and_the_experiment_api(
        toy, tiny_data, tmp_path):
    assert SPECS["toy"] is toy.spec and experiment.FINETUNE["toy"] == {"lr": 0.02}
    assert playground.BACKBONE_NAMES["toy"] == "Toy"
    assert "toy" not in experiment.FULL_SCALE and "toy" not in pretrain.RECIPES  # the book pretrains none
    model = build_model("toy", 3, input="vmp")  # the spec's clip (4 frames at 32 px), layout and normalisation
    assert (model.frames, model.layout) == (4, "BTCHW") and isinstance(model.backbone, ToyNet)
    assert (model.prompt.mean, model.prompt.std) == TOY_NORMALISATION
    logits, attention = model(torch.randn(2, 5, 3, 32, 32))  # called as a plain module, clip in, logits out
    assert logits.shape == (2, 3) and attention.shape == (2, 4, 32, 32)

    profile = tiny_profile()
    splits = load_splits(profile, SPECS["toy"], root=tiny_data)
    transform = splits.train.transform
    assert (tuple(transform.mean), tuple(transform.std), transform.layout) == (*TOY_NORMALISATION, "BTCHW")
    assert splits.train[0][0].shape == (5, 3, 32, 32)
    run = train_and_test("toy", profile, splits, seed=0, out=tmp_path)
    assert len(run.history) == 1 and run.history[0]["lr"] == pytest.approx(0.02)  # the entry's recipe
    reloaded, checkpoint = load_trained(tmp_path / "checkpoint.pt")
    assert checkpoint["model_args"]["name"] == "toy" and isinstance(reloaded.backbone, ToyNet)
    assert evaluate(reloaded, splits.test)["correct"] == run.test["correct"]


def test_a_train_and_test_checkpoint_reloads_with_vmp_eval_to_identical_test_predictions(tiny_data, tmp_path,
                                                                                         capsys):
    profile = tiny_profile()
    splits = load_splits(profile, SPECS["tiny3d"], root=tiny_data)
    run = train_and_test("tiny3d", profile, splits, seed=0, out=tmp_path, gate=0.2)
    model_args = torch.load(tmp_path / "checkpoint.pt", weights_only=True)["model_args"]
    assert model_args == {**run.model.rebuild_args, "classes": splits.train.classes}
    assert model_args["name"] == "tiny3d" and model_args["gate"] == 0.2

    reloaded, _ = load_trained(tmp_path / "checkpoint.pt")
    run.model.eval(), reloaded.eval()
    clips = torch.stack([splits.test[index][0] for index in range(len(splits.test))])
    with torch.no_grad():
        assert torch.equal(reloaded(clips).logits, run.model(clips).logits)
    assert evaluate(reloaded, splits.test)["correct"] == run.test["correct"]

    capsys.readouterr()
    main(["eval", "--checkpoint", str(tmp_path / "checkpoint.pt"), "--data", str(splits.root), "--split", "test"])
    printed = capsys.readouterr().out
    metrics = json.loads(printed[: printed.index("confusion (rows")])
    assert metrics["top1"] == run.test["top1"] and metrics["count"] == len(splits.test)
    rows = [json.loads(line.split(maxsplit=1)[1]) for line in printed.splitlines()[-len(splits.test.classes):]]
    assert rows == run.test["confusion"]


def test_a_model_put_together_by_hand_says_how_it_cannot_be_rebuilt(tmp_path):
    from vmp.checkpoint import CheckpointError
    from vmp.train import TrainConfig, fit

    model = with_motion_prompt(backbones.Tiny3D(2), frames=2, num_classes=2)
    with pytest.raises(ValueError, match="put together around a given backbone"):
        _ = model.rebuild_args
    data = torch.utils.data.TensorDataset(torch.randn(4, 3, 3, 16, 16), torch.tensor([0, 1, 0, 1]))
    fit(model, data, None, TrainConfig(epochs=1, batch_size=2), out=tmp_path)
    with pytest.raises(CheckpointError, match="with_motion_prompt"):
        load_trained(tmp_path / "checkpoint.pt")


def test_a_backbone_that_returns_no_logits_tensor_is_refused():
    class Dictionary(nn.Module):
        def forward(self, clip: torch.Tensor) -> dict:
            return {"logits": clip.mean(dim=(1, 2, 3, 4)).unsqueeze(1)}

    with pytest.raises(TypeError, match="returned dict, not a logits tensor"):
        with_motion_prompt(Dictionary(), frames=2, num_classes=1)(torch.randn(1, 3, 3, 4, 4))


def test_an_input_stage_is_one_entry(monkeypatch):
    class Negated(FixedStage):
        def shown(self, frames: torch.Tensor) -> torch.Tensor:
            return -frames[:, :, 1:]

    monkeypatch.setitem(INPUT_STAGES, "negated", Negated)
    model = build_model("tiny3d", 3, 2, 16, input="negated").eval()
    clip = torch.randn(1, 3, 3, 16, 16)
    shown, attention = model.stage(clip)
    assert torch.equal(shown, -clip[:, :, 1:]) and attention is None and model.prompt is None
    assert model(clip).logits.shape == (1, 3)


def test_every_consumer_reads_the_registry():
    assert backbones.SPECS is registry.SPECS and backbones.BUILDERS is registry.BUILDERS
    assert experiment.FINETUNE is registry.FINETUNE and experiment.FULL_SCALE is registry.FULL_SCALE
    assert pretrain.RECIPES is registry.RECIPES and playground.BACKBONE_NAMES is registry.BACKBONE_NAMES
    assert experiment.get_profile("book").recipes is registry.FINETUNE
    assert all(counterpart in REGISTRY for counterpart, _ in registry.FULL_SCALE.values())
    assert set(registry.RECIPES) == set(registry.FINETUNE) == set(playground.BACKBONE_NAMES)
    with pytest.raises(ValueError, match="registered already"):
        register_backbone(dataclasses.replace(REGISTRY["tiny3d"]))
    spec = SPECS["timesformer"]
    transform = ClipTransform.for_backbone(spec, size=32, train=False)
    assert (transform.layout, tuple(transform.mean), tuple(transform.std)) == (spec.layout, spec.mean, spec.std)
