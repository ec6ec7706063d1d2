"""The book's pretrained checkpoints: how they are written, checked and loaded, and the committed ones."""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest
import torch

import vmp.pretrain as pretrain_module
from vmp.__main__ import main
from vmp.models import ModelConfigError, build_model
from vmp.pretrain import CROP, FRAMES, RECIPES, sha256_of
from vmp.weights import CHECKPOINTS, BookWeightsError, book_checkpoint, classifier_prefix, read_manifest

MANIFEST_KEYS = {"backbone", "file", "sha256", "frames", "crop", "model_args", "source_top1", "recipe"}


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    """A one-epoch Tiny3D pretraining on a tiny source task, through the command line."""
    out = tmp_path_factory.mktemp("checkpoints")
    small = dataclasses.replace(pretrain_module.SOURCE, clips_per_class=5)
    patch = pytest.MonkeyPatch()
    patch.setattr(pretrain_module, "SOURCE", small)
    try:
        main(["pretrain", "--backbone", "tiny3d", "--epochs", "1", "--out", str(out),
              "--data", str(tmp_path_factory.mktemp("source")), "--work", str(tmp_path_factory.mktemp("work"))])
    finally:
        patch.undo()
    return out


def test_pretraining_writes_a_headless_checkpoint_and_its_manifest_entry(pretrained):
    manifest = json.loads((pretrained / "manifest.json").read_text())
    assert manifest["source"]["classes"][0] == "slide-h" and manifest["source"]["task"] == "source"
    (entry,) = manifest["checkpoints"]
    assert MANIFEST_KEYS <= entry.keys()
    assert (entry["backbone"], entry["frames"], entry["crop"]) == ("tiny3d", FRAMES, CROP)
    assert entry["sha256"] == sha256_of(pretrained / entry["file"]) and 0 <= entry["source_top1"] <= 1
    state = torch.load(pretrained / entry["file"], weights_only=True)
    assert not any(key.startswith("head.") for key in state)  # the source task's head is dropped
    assert all(value.dtype == torch.float16 for value in state.values() if value.is_floating_point())
    assert len(json.loads((pretrained / "tiny3d_history.json").read_text())) == 1


def test_weights_book_loads_the_backbone_and_gives_a_new_head(pretrained, monkeypatch):
    monkeypatch.setenv("VMP_CHECKPOINTS", str(pretrained))
    state = torch.load(pretrained / "tiny3d_source.pt", weights_only=True)
    for seed in (0, 1):
        torch.manual_seed(seed)
        model = build_model("tiny3d", 5, FRAMES, CROP, input="frames", weights="book")
        for key, value in state.items():
            assert torch.equal(model.backbone.state_dict()[key], value.float()), key
        assert model.backbone.head.out_features == 5
    out = model(torch.randn(2, 3, FRAMES + 1, CROP, CROP)).logits
    assert out.shape == (2, 5)


def test_book_weights_come_from_the_folder_given(pretrained, tmp_path, monkeypatch):
    monkeypatch.setenv("VMP_CHECKPOINTS", str(tmp_path))  # an empty folder: only the argument can find them
    with pytest.raises(BookWeightsError, match="no book checkpoint for 'tiny3d'"):
        build_model("tiny3d", 5, FRAMES, CROP, input="frames", weights="book")
    model = build_model("tiny3d", 5, FRAMES, CROP, input="frames", weights="book", checkpoints=pretrained)
    state = torch.load(pretrained / "tiny3d_source.pt", weights_only=True)
    assert all(torch.equal(model.backbone.state_dict()[key], value.float()) for key, value in state.items())
    with pytest.raises(ModelConfigError, match="read only with weights='book', not weights=None"):
        build_model("tiny3d", 5, FRAMES, CROP, input="frames", checkpoints=pretrained)


def test_bad_book_checkpoints_are_named(pretrained, tmp_path):
    with pytest.raises(BookWeightsError, match=r"no book checkpoint for 'x3d_m'.*\['tiny3d'\]"):
        book_checkpoint("x3d_m", FRAMES, CROP, {}, pretrained)
    with pytest.raises(BookWeightsError, match=r"built for frames=8, crop=64, not frames=16, crop=64: pass those"):
        book_checkpoint("tiny3d", 16, CROP, {}, pretrained)
    with pytest.raises(BookWeightsError, match=r"model arguments \{\}, not \{'width': 32\}"):
        book_checkpoint("tiny3d", FRAMES, CROP, {"width": 32}, pretrained)
    copy = tmp_path / "copy"
    shutil.copytree(pretrained, copy)
    data = (copy / "tiny3d_source.pt").read_bytes()
    (copy / "tiny3d_source.pt").write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # one bit flipped
    with pytest.raises(BookWeightsError, match=r"tiny3d_source.pt does not match the SHA-256"):
        book_checkpoint("tiny3d", FRAMES, CROP, {}, copy)
    (copy / "tiny3d_source.pt").unlink()
    with pytest.raises(BookWeightsError, match=r"lists tiny3d_source.pt for tiny3d, but .* is missing"):
        book_checkpoint("tiny3d", FRAMES, CROP, {}, copy)


def test_the_classifier_head_is_the_last_linear_layer():
    assert classifier_prefix(build_model("tiny3d", 3, 4, 32).backbone) == "head."
    assert classifier_prefix(build_model("timesformer", 3, 4, 32).backbone) == "classifier."
    assert classifier_prefix(build_model("x3d_xs", 3, 4, 64, width_factor=1.0, depth_factor=1.0).backbone).endswith(
        ".proj."
    )


# The committed checkpoints ------------------------------------------------------------------------


def test_the_committed_checkpoints_are_complete_small_and_verified():
    entries = read_manifest(CHECKPOINTS)
    assert set(entries) == set(RECIPES)  # every backbone chapters 6-10 fine-tune
    total = sum((CHECKPOINTS / entry["file"]).stat().st_size for entry in entries.values())
    assert total <= 40 * 2**20, f"checkpoints take {total / 2**20:.1f} MiB, more than 40"
    for name, entry in entries.items():
        assert MANIFEST_KEYS <= entry.keys()
        path, model_args = book_checkpoint(name, FRAMES, CROP, {})
        assert model_args == RECIPES[name].model_args and path.is_file()
        # pretraining learned the source task (8 classes, chance 12.5%)
        assert entry["source_top1"] > 0.5, (name, entry["source_top1"])


@pytest.mark.parametrize("name", sorted(read_manifest(CHECKPOINTS)))
def test_every_committed_checkpoint_builds_and_runs(name):
    torch.manual_seed(0)
    model = build_model(name, 6, FRAMES, CROP, input="vmp", weights="book").eval()
    clip = torch.randn(2, 3, FRAMES + 1, CROP, CROP)
    if model.layout == "BTCHW":
        clip = clip.transpose(1, 2)
    with torch.no_grad():
        assert model(clip).logits.shape == (2, 6)
    fresh = build_model(name, 6, FRAMES, CROP, input="vmp", **RECIPES[name].model_args)
    loaded, random = model.backbone.state_dict(), fresh.backbone.state_dict()
    differing = [key for key in loaded if loaded[key].is_floating_point() and not torch.equal(loaded[key], random[key])]
    assert len(differing) > len(loaded) // 2  # the weights came from the checkpoint, not the initialiser
