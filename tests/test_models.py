"""Backbones behind the input stage: shapes, layouts, SlowFast pathways, weights, bad configurations."""

from __future__ import annotations

import urllib.error

import pytest
import torch

import vmp.models.backbones as backbones
from vmp.checkpoint import CheckpointError
from vmp.models import (
    ModelConfigError,
    NetworkUnavailableError,
    PromptedModel,
    Tiny3D,
    build_backbone,
    build_model,
    load_backbone_weights,
    slowfast_pathways,
    with_motion_prompt,
)
from vmp.models.adapter import INPUTS

SMALL = {  # name: (T, crop)
    "tiny3d": (8, 32),
    "x3d_xs": (4, 64),
    "x3d_s": (8, 64),
    "x3d_m": (8, 64),
    "slowfast_r50": (8, 64),
    "timesformer": (8, 32),
}


def clip_for(model: PromptedModel, crop: int, batch: int = 2) -> torch.Tensor:
    sizes = {"B": batch, "C": 3, "T": model.frames + 1, "H": crop, "W": crop}
    return torch.randn([sizes[axis] for axis in model.layout], generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("name", sorted(SMALL))
@pytest.mark.parametrize("input", INPUTS)
def test_every_backbone_with_every_input_stage(name, input):
    frames, crop = SMALL[name]
    model = build_model(name, num_classes=5, frames=frames, crop=crop, input=input)
    logits, attention = model(clip_for(model, crop))
    assert logits.shape == (2, 5)
    assert (attention is not None) == (input == "vmp")
    if attention is not None:
        assert attention.shape == (2, frames, crop, crop)
    expected = {"vmp": 2}.get(input, 0)
    assert sum(p.numel() for p in model.parameters()) - sum(p.numel() for p in model.backbone.parameters()) == expected


@pytest.mark.parametrize("name", sorted(SMALL))
def test_a_stacked_model_starts_as_its_frames_model_and_learns_from_the_differences(name):
    frames, crop = SMALL[name]
    torch.manual_seed(0)
    plain = build_model(name, num_classes=5, frames=frames, crop=crop, input="frames").eval()
    stacked = build_model(name, num_classes=5, frames=frames, crop=crop, input="stacked").eval()
    own = stacked.backbone.state_dict()
    stacked.backbone.load_state_dict({key: value for key, value in plain.backbone.state_dict().items()
                                      if own[key].shape == value.shape}, strict=False)
    widened = [
        m
        for m in stacked.backbone.modules()
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Conv3d)) and m.in_channels == 6
    ]
    assert len(widened) == (2 if name == "slowfast_r50" else 1)  # SlowFast has a stem per pathway
    assert all(conv.weight[:, 3:].abs().sum() == 0 for conv in widened)  # the new channels start at zero
    plain_stems = [
        m
        for m in plain.backbone.modules()
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Conv3d)) and m.in_channels == 3 and m.groups == 1
    ]
    for conv, original in zip(widened, plain_stems):  # their shapes differ, so load_state_dict skipped them
        conv.weight.data[:, :3] = original.weight.data
    clip = clip_for(plain, crop)
    assert torch.allclose(stacked(clip).logits, plain(clip).logits, atol=1e-5)
    stacked.train()
    stacked(clip).logits.sum().backward()
    assert all(conv.weight.grad[:, 3:].abs().sum() > 0 for conv in widened)


def test_gray_difference_and_difference_frames_stages_compute_their_formulas():
    clip = torch.randn(2, 3, 4, 16, 16, generator=torch.Generator().manual_seed(1))
    gray = build_model("tiny3d", 3, 3, 16, input="gray_difference")
    moving = clip[:, :, 1:] - clip[:, :, :-1]
    expected = (
        (0.299 * moving[:, 0] + 0.587 * moving[:, 1] + 0.114 * moving[:, 2]).unsqueeze(1).expand(-1, 3, -1, -1, -1)
    )
    assert torch.allclose(gray.stage(clip)[0], expected, atol=1e-6)
    product = build_model("tiny3d", 3, 3, 16, input="difference_frames")
    d = 0.225 * (0.299 * moving[:, 0] + 0.587 * moving[:, 1] + 0.114 * moving[:, 2])  # pixel units (std 0.225)
    assert torch.allclose(product.stage(clip)[0], clip[:, :, 1:] * d.unsqueeze(1), atol=1e-6)


def test_the_gated_stage_keeps_differences_only_where_the_gray_change_passes_the_gate():
    model = build_model("tiny3d", 3, 2, 16, input="gated", gate=0.1)
    frames = torch.zeros(1, 3, 3, 16, 16)
    frames[:, :, 1, :2] = 0.05 / 0.225   # a change of 0.05 in every channel (gray 0.05): below the gate
    frames[:, :, 2, 8:] = 0.5 / 0.225    # a change of 0.5: above it
    shown, attention = model.stage(frames)
    expected = frames[:, :, 1:] - frames[:, :, :-1]
    expected[:, :, 0, :2] = 0
    expected[:, :, 1, :2] = 0
    assert attention is None and torch.allclose(shown, expected)
    assert shown[:, :, 1, 8:].abs().min() > 2


def test_prompt_init_sets_the_layers_starting_point():
    model = build_model("tiny3d", 3, 4, 32, prompt_init=(0.0, 0.5))
    assert model.prompt.m.item() == 0.0 and model.prompt.n.item() == 0.5


def test_timesformer_takes_btchw():
    model = build_model("timesformer", 3, 8, 32)
    assert model.layout == "BTCHW" and model.prompt.layout == "BTCHW"
    with pytest.raises(ValueError, match=r"9 frames \(T\+1\) on axis 1"):
        model(torch.randn(1, 3, 9, 32, 32))  # BCTHW given to a BTCHW model


def test_slowfast_pathways_from_prompts():
    frames = torch.arange(8.0).view(1, 1, 8, 1, 1).expand(1, 3, 8, 2, 2)
    slow, fast = slowfast_pathways(frames)
    assert slow.shape[2] == 2 and torch.equal(fast, frames)
    # the slow pathway takes T/4 frames spread over the clip, both ends included
    assert slow[0, 0, :, 0, 0].tolist() == [0.0, 7.0]


def test_slowfast_sees_the_prompted_frames():
    model = build_model("slowfast_r50", 4, 8, 64)
    seen = []
    model.backbone.blocks[0].register_forward_pre_hook(  # the pathways' stems: the backbone splits the clip itself
        lambda module, inputs: seen.append([t.clone() for t in inputs[0]])
    )  # pytorchvideo reuses the list
    clip = clip_for(model, 64, batch=1)
    model(clip)
    prompts, _ = model.prompt(clip)
    slow, fast = seen[0]
    assert torch.equal(fast, prompts) and slow.shape[2] == 2


def test_baseline_and_ablation_inputs():
    backbone = torch.nn.Identity()
    clip = torch.randn(1, 3, 4, 2, 2)
    frames_model = with_motion_prompt(backbone, 3, 1, input="frames")
    difference_model = with_motion_prompt(backbone, 3, 1, input="difference")
    assert torch.equal(frames_model(clip).logits, clip[:, :, 1:])
    assert torch.equal(difference_model(clip).logits, clip[:, :, 1:] - clip[:, :, :-1])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: build_model("resnet9000", 3), "unknown model 'resnet9000'"),
        (lambda: build_model("slowfast_r50", 3, frames=6, crop=64), "divisible by 4"),
        (lambda: build_model("x3d_s", 3, frames=8, crop=50), "divisible by 32"),
        (lambda: build_model("timesformer", 3, frames=8, crop=30), "patch size"),
        (lambda: build_model("tiny3d", 0), "num_classes must be positive"),
        (lambda: build_model("tiny3d", 3, input="optical-flow"), "input must be one of"),
        (lambda: build_model("tiny3d", 3, weights="kinetics"), "no public pretrained weights"),
    ],
)
def test_bad_model_configurations_fail_clearly(call, message):
    with pytest.raises(ModelConfigError, match=message):
        call()


def test_kinetics_weights_without_network_give_a_clear_error(monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(NetworkUnavailableError, match="need a network"):
        build_backbone("x3d_xs", 5, 4, 64, weights="kinetics")


def test_kinetics_weights_are_loaded_and_the_head_replaced(monkeypatch):
    """The download is replaced by a locally built 400-class X3D: every weight but the head must load."""
    source = build_backbone("x3d_xs", 400, 4, 64)
    served = {"model_state": source.state_dict()}
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", lambda *a, **k: served)
    model = build_backbone("x3d_xs", 7, 4, 64, weights="kinetics")
    assert model.blocks[-1].proj.out_features == 7
    loaded, original = model.state_dict(), source.state_dict()
    shared = [k for k in original if not k.startswith("blocks.5.proj")]
    assert all(torch.equal(loaded[k], original[k]) for k in shared)


def test_a_kinetics_file_that_pickles_more_than_tensors_loads_with_a_warning(monkeypatch):
    """pytorchvideo's .pyth files may hold non-tensor objects that weights_only=True refuses."""
    import pickle

    source = build_backbone("x3d_xs", 400, 4, 64)
    calls = []

    def served(url, *args, weights_only, **kwargs):
        calls.append(weights_only)
        if weights_only:
            raise pickle.UnpicklingError("Weights only load failed: unsupported global numpy.core.multiarray.scalar")
        return {"model_state": source.state_dict(), "epoch": object()}

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", served)
    with pytest.warns(UserWarning, match="pickles more than tensors"):
        model = build_backbone("x3d_xs", 7, 4, 64, weights="kinetics")
    assert calls == [True, False] and model.blocks[-1].proj.out_features == 7
    with pytest.raises(backbones.ModelConfigError, match="not an official checkpoint"):
        backbones._fetch_state_dict("https://example.org/other.pyth", "x3d_xs")


def test_timesformer_from_a_local_pretrained_folder(tmp_path):
    source = build_backbone("timesformer", 10, 8, 32)
    source.save_pretrained(tmp_path / "tsf")
    model = build_backbone("timesformer", 4, 8, 32, weights=str(tmp_path / "tsf"))
    assert model.config.num_labels == 4
    name = "timesformer.embeddings.patch_embeddings.projection.weight"
    assert torch.equal(model.state_dict()[name], source.state_dict()[name])


def test_local_checkpoint_replaces_only_the_head(tmp_path):
    source = Tiny3D(12)
    torch.save({"model": {f"backbone.{k}": v for k, v in source.state_dict().items()}}, tmp_path / "pre.pt")
    model = build_backbone("tiny3d", 5, 8, 32, weights=tmp_path / "pre.pt")
    assert model.head.out_features == 5
    assert torch.equal(model.features[0].weight, source.features[0].weight)


def test_corrupt_or_foreign_local_checkpoint(tmp_path):
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="bad.pt is damaged"):
        build_backbone("tiny3d", 5, 8, 32, weights=tmp_path / "bad.pt")
    torch.save({"something.else": torch.zeros(3)}, tmp_path / "foreign.pt")
    with pytest.raises(ModelConfigError, match="does not fit this backbone"):
        build_backbone("tiny3d", 5, 8, 32, weights=tmp_path / "foreign.pt")
    with pytest.raises(ModelConfigError, match="no checkpoint file .*missing.pt"):
        build_backbone("tiny3d", 5, 8, 32, weights=tmp_path / "missing.pt")


@pytest.mark.parametrize("name", ["slowfast_r50", "x3d_xs", "timesformer", "tiny3d"])
@pytest.mark.parametrize("weights", ["kinetic", "book", "model.pth.tar"])
def test_weights_that_are_none_of_the_choices_raise_naming_them(name, weights):
    with pytest.raises(ValueError, match=r"weights may be None \(random initialisation\).* existing checkpoint file"):
        build_backbone(name, 5, weights=weights)


def test_a_hub_id_is_a_choice_for_timesformer_only():
    hub_id = "facebook/timesformer-base-finetuned-k400"
    assert backbones.resolve_weights("timesformer", hub_id) == (hub_id, None)
    assert backbones.resolve_weights("timesformer", "kinetics600") == ("kinetics600", None)
    with pytest.raises(ModelConfigError, match="unknown weights 'kinetic' for timesformer"):
        backbones.resolve_weights("timesformer", "kinetic")
    with pytest.raises(ModelConfigError, match="no checkpoint file 'facebook/x3d_xs'"):
        backbones.resolve_weights("x3d_xs", "facebook/x3d_xs")
    with pytest.raises(ModelConfigError, match="no checkpoint file 'runs/timesformer.pt'"):
        backbones.resolve_weights("timesformer", "runs/timesformer.pt")
    with pytest.raises(ModelConfigError, match="tiny3d has no public pretrained weights"):
        backbones.resolve_weights("tiny3d", "kinetics")


def test_a_checkpoint_of_another_width_raises_naming_the_tensors(tmp_path):
    torch.save(Tiny3D(5, width=8).state_dict(), tmp_path / "narrow.pt")
    with pytest.raises(ModelConfigError, match=r"narrow.pt does not fit.*of another shape: features.0.weight \(8, 3"):
        build_backbone("tiny3d", 5, 8, 32, weights=tmp_path / "narrow.pt")
    state = Tiny3D(5).state_dict()
    del state["features.1.running_mean"]
    torch.save({**state, "extra.weight": torch.zeros(1)}, tmp_path / "gappy.pt")
    with pytest.raises(ModelConfigError, match=r"missing: features.1.running_mean; unexpected: extra.weight"):
        build_backbone("tiny3d", 5, 8, 32, weights=tmp_path / "gappy.pt")
    torch.save({k: v for k, v in Tiny3D(9).state_dict().items() if k != "head.bias"}, tmp_path / "other_head.pt")
    model = Tiny3D(5)
    assert load_backbone_weights(model, tmp_path / "other_head.pt") == ["head.bias", "head.weight"]


def test_spec_defaults_are_the_papers_clips():
    assert (backbones.SPECS["slowfast_r50"].frames, backbones.SPECS["slowfast_r50"].crop) == (32, 224)
    assert (backbones.SPECS["x3d_s"].frames, backbones.SPECS["x3d_s"].crop) == (13, 160)
    assert (backbones.SPECS["timesformer"].frames, backbones.SPECS["timesformer"].crop) == (8, 224)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_backbones_return_logits_not_probabilities(name):
    # pytorchvideo's X3D ends in a softmax by default; cross-entropy needs the raw scores.
    frames, crop = SMALL[name]
    model = build_model(name, num_classes=5, frames=frames, crop=crop, input="frames").train()
    logits = model(clip_for(model, crop)).logits
    assert not torch.allclose(logits.sum(dim=1), torch.ones(2), atol=1e-3)


def test_smaller_slowfast_and_x3d_keep_the_architecture():
    full = build_backbone("slowfast_r50", 5, 8, 64)
    small = build_backbone("slowfast_r50", 5, 8, 64, depth=18, width=16)
    count = lambda model: sum(p.numel() for p in model.parameters())  # noqa: E731
    assert count(small) < count(full) / 20
    assert type(small) is type(full) and len(small.blocks) == len(full.blocks)
    x3d = build_backbone("x3d_xs", 5, 4, 64, width_factor=1.0, depth_factor=1.0)
    assert count(x3d) < count(build_backbone("x3d_xs", 5, 4, 64)) / 2
    with pytest.raises(ModelConfigError, match="depth 50 and width 64 only"):
        build_backbone("slowfast_r50", 5, 8, 64, weights="kinetics", depth=18)
    with pytest.raises(ModelConfigError, match="multiple of 8"):
        build_backbone("slowfast_r50", 5, 8, 64, width=12)
    with pytest.raises(ModelConfigError, match="width_factor 2.0"):
        build_backbone("x3d_xs", 5, 4, 64, weights="kinetics", width_factor=1.0)


def _saved_timesformer(directory, frames=8, crop=64):
    """A small TimeSformer saved like a hub checkpoint: the stand-in for Kinetics weights."""
    from transformers import TimesformerConfig, TimesformerForVideoClassification

    torch.manual_seed(3)
    config = TimesformerConfig(num_frames=frames, image_size=crop, patch_size=16, hidden_size=96, num_hidden_layers=2,
                               num_attention_heads=2, intermediate_size=192, num_labels=400)
    model = TimesformerForVideoClassification(config)
    with torch.no_grad():  # distinct, smooth embeddings, so interpolation is visible
        model.timesformer.embeddings.time_embeddings.copy_(
            torch.linspace(-1, 1, frames).view(1, frames, 1).expand(1, frames, 96)
        )
        model.timesformer.embeddings.position_embeddings.normal_()
    model.save_pretrained(directory)
    return model


def test_pretrained_timesformer_keeps_its_embeddings_at_other_frame_counts_and_crops(tmp_path):
    original = _saved_timesformer(tmp_path / "hub")
    model = build_model("timesformer", 5, frames=4, crop=32, weights=str(tmp_path / "hub"))
    embeddings = model.backbone.timesformer.embeddings
    assert embeddings.time_embeddings.shape == (1, 4, 96) and embeddings.position_embeddings.shape == (1, 1 + 4, 96)
    old = original.timesformer.embeddings
    expected_time = torch.nn.functional.interpolate(
        old.time_embeddings.transpose(1, 2), size=4, mode="linear"
    ).transpose(1, 2)
    assert torch.allclose(embeddings.time_embeddings, expected_time)
    assert torch.equal(embeddings.position_embeddings[:, 0], old.position_embeddings[:, 0])  # the class token's
    grid = old.position_embeddings[:, 1:].reshape(1, 4, 4, 96).permute(0, 3, 1, 2)
    expected_grid = (
        torch.nn.functional.interpolate(grid, size=(2, 2), mode="bicubic").permute(0, 2, 3, 1).reshape(1, 4, 96)
    )
    assert torch.allclose(embeddings.position_embeddings[:, 1:], expected_grid, atol=1e-6)
    fresh = build_model("timesformer", 5, frames=4, crop=32, hidden_size=96, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=192).backbone.timesformer.embeddings
    assert not torch.allclose(embeddings.time_embeddings, fresh.time_embeddings)
    logits, _ = model(torch.randn(2, 5, 3, 32, 32))
    assert logits.shape == (2, 5)


def test_a_timesformer_trained_from_pretrained_weights_reloads_for_eval(tmp_path):
    from vmp.train import TrainConfig, fit, load_trained

    _saved_timesformer(tmp_path / "hub")
    model = build_model("timesformer", 2, frames=4, crop=32, weights=str(tmp_path / "hub"))
    data = torch.utils.data.TensorDataset(torch.randn(4, 5, 3, 32, 32), torch.tensor([0, 1, 0, 1]))
    fit(model, data, None, TrainConfig(epochs=1, batch_size=2, lr=1e-3), out=tmp_path / "run",
        model_args={**model.rebuild_args, "weights": str(tmp_path / "hub")})
    (tmp_path / "hub" / "model.safetensors").unlink()  # reloading must not need the original weights
    reloaded, checkpoint = load_trained(tmp_path / "run" / "checkpoint.pt")
    assert reloaded.backbone.config.hidden_size == 96 and checkpoint["model_args"]["weights"] == str(tmp_path / "hub")
    clip = torch.randn(1, 5, 3, 32, 32)
    model.eval(), reloaded.eval()
    assert torch.allclose(model(clip).logits, reloaded(clip).logits, atol=1e-6)
