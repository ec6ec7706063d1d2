"""Figures the chapters draw from package code."""

import matplotlib

matplotlib.use("Agg")

from vmp.book.viz import learning_curves


def test_learning_curves_draw_one_line_per_run_and_chance():
    history = [{"epoch": 1, "train_ce": 2.0, "val_top1": 0.2}, {"epoch": 2, "train_ce": 1.5, "val_top1": 0.4}]
    figure = learning_curves({"frames": history, "VMP": history}, chance=0.25)
    loss, accuracy = figure.axes
    assert len(loss.lines) == 2 and len(accuracy.lines) == 3
    assert list(accuracy.lines[1].get_ydata()) == [0.2, 0.4] and list(accuracy.lines[2].get_ydata()) == [0.25, 0.25]
    assert [text.get_text() for text in accuracy.get_legend().get_texts()] == ["frames", "VMP", "chance"]
    assert len(learning_curves({"frames": history}).axes[1].lines) == 1


def test_layer_trajectories_and_attention_before_after():
    import torch

    from vmp import MotionPrompt
    from vmp.book.viz import attention_before_after, layer_trajectories

    figure = layer_trajectories({"VMP": ([30.0, 25.0, 20.0], [0.1, 0.12, 0.11])}, {0.0: (11.0, -0.15)})
    slope_axis, shift_axis = figure.axes
    assert list(slope_axis.lines[0].get_ydata()) == [30.0, 25.0, 20.0] and len(slope_axis.lines) == 2  # run + reference
    clips = [torch.randn(3, 9, 16, 16), torch.randn(3, 9, 16, 16)]
    figure = attention_before_after(clips, MotionPrompt(m=0.1, n=0.1), MotionPrompt(m=0.5, n=-0.2), ["a", "b"])
    assert len([axis for axis in figure.axes if axis.images]) == 2 * 3  # 3 rows x 2 clips
    assert len(figure.axes) == 2 * 3 + 4  # and a colorbar beside each of the 4 attention maps


def test_slider_figure_draws_every_combination_and_is_reproducible():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from vmp.book.viz import slider_figure

    calls = []

    def draw(slope, shift):
        calls.append((slope, shift))
        figure, axis = plt.subplots(figsize=(2, 1))
        axis.plot([0, 1], [shift, slope])
        return figure

    explorer = slider_figure(draw, {"slope": [10, 20, 30], "shift": [-0.1, 0.1]}, start={"slope": 20, "shift": 0.1})
    assert len(calls) == 6 and len(explorer.pictures) == 6 and explorer.start == (1, 1)
    html = explorer.html()
    assert html.count('type="range"') == 2 and "https://" not in html and "http://" not in html
    assert (
        html
        == slider_figure(draw, {"slope": [10, 20, 30], "shift": [-0.1, 0.1]}, start={"slope": 20, "shift": 0.1}).html()
    )
    assert len(set(explorer.pictures.values())) == 6  # each combination its own picture
    import base64

    start_key = explorer.start
    assert explorer._repr_png_() == base64.b64decode(explorer.pictures[start_key])  # print shows the start
    assert explorer._repr_png_().startswith(b"\x89PNG")


def test_animations_load_nothing_from_elsewhere():
    import torch

    from vmp.book.viz import animate

    shown = animate({"frames": [torch.rand(8, 8, 3) for _ in range(3)]})
    html = shown._repr_html_()
    assert shown._repr_png_().startswith(b"\x89PNG")  # the still that print shows
    assert "font-awesome" not in html and 'class="fa ' not in html
    assert "https://" not in html and "\u25b6" in html  # the play button, as a character


# schematics: each drawn from the code it shows, so each test checks the drawing against the code


def _texts(figure) -> list[str]:
    from matplotlib.text import Text

    return [text.get_text() for text in figure.findobj(Text)]


def test_pipeline_diagram_shapes_come_from_running_the_layer():
    from vmp import MotionPrompt
    from vmp.book.diagrams import pipeline_shapes
    from vmp.book.viz import pipeline_diagram

    shapes = pipeline_shapes()
    assert shapes == {"frames": "(B, C, T+1, H, W)", "gray": "(B, T+1, H, W)", "differences": "(B, T, H, W)",
                      "attention": "(B, T, H, W)", "prompts": "(B, C, T, H, W)"}
    assert pipeline_shapes(MotionPrompt("BTCHW"))["prompts"] == "(B, T, C, H, W)"  # the layer keeps its layout
    drawn = _texts(pipeline_diagram())
    assert "T+1 → T" in drawn and any(shapes["prompts"] in text for text in drawn)
    assert any("T+1 frames in, T prompts out" in text for text in drawn)


def test_slowfast_diagram_frames_are_the_ones_the_model_feeds_each_pathway():
    import torch

    from vmp.book.diagrams import slowfast_frames
    from vmp.book.viz import slowfast_diagram
    from vmp.models import build_model

    frames = 8
    model = build_model("slowfast_r50", 3, frames, 64, input="frames", depth=18, width=8)
    received = []
    # the first block of SlowFast's network receives the two pathways, [slow, fast], in a list it
    # then overwrites: keep copies
    model.backbone.blocks[0].register_forward_pre_hook(
        lambda _, inputs: received.append([pathway.clone() for pathway in inputs[0]]))
    clip = torch.arange(frames + 1.0).view(1, 1, frames + 1, 1, 1).expand(1, 3, -1, 64, 64)
    with torch.no_grad():
        model(clip)
    slow_pathway, fast_pathway = received[0]
    # the frames stage shows frames 1..T: frame t + 1 is prompt t
    model_slow = (slow_pathway[0, 0, :, 0, 0] - 1).int().tolist()
    model_fast = (fast_pathway[0, 0, :, 0, 0] - 1).int().tolist()
    assert slowfast_frames(frames) == (model_slow, model_fast) == ([0, 7], list(range(8)))
    assert slowfast_frames(32)[0] == [0, 4, 8, 13, 17, 22, 26, 31]
    drawn = _texts(slowfast_diagram(frames))
    assert f"slow pathway gets prompts {model_slow}" in drawn and "clip\n9 frames" in drawn


def test_divided_attention_diagram_reads_the_groups_from_timesformer():
    from transformers import TimesformerConfig

    from vmp.book.diagrams import divided_attention
    from vmp.book.viz import divided_attention_diagram

    config = TimesformerConfig(num_frames=3, image_size=32, patch_size=16, hidden_size=24, num_hidden_layers=2,
                               num_attention_heads=3, intermediate_size=8)
    attention = divided_attention(config)
    assert attention.order == ["time", "space"] and attention.class_token_in == ["space"]
    assert (attention.frames, attention.patches, attention.blocks, attention.heads) == (3, 4, 2, 3)
    assert len(attention.groups["time"]) == 4 and all(len(group) == 3 for group in attention.groups["time"])
    assert len(attention.groups["space"]) == 3 and all(len(group) == 4 for group in attention.groups["space"])
    every = sorted(token for group in attention.groups["time"] for token in group)
    assert every == list(range(12)) == sorted(token for group in attention.groups["space"] for token in group)
    for token in range(12):  # a token's position names it back
        assert attention.token(*attention.position(token)) == token
    # time first: A reaches B through the token at B's frame and A's patch
    assert attention.route((1, 2), (2, 0)) == [(1, 2), (2, 2), (2, 0)]
    drawn = _texts(divided_attention_diagram(config, (1, 2), (2, 0)))
    assert "via (frame 2, patch 2): B's frame, A's patch" in drawn
    assert "both steps run in each of the 2 blocks, 3 heads each" in drawn


def test_network_diagram_shapes_equal_a_forward_pass_of_tiny3d():
    import torch

    from vmp.book.diagrams import network_stages
    from vmp.book.viz import network_diagram
    from vmp.models import Tiny3D

    network, clip = Tiny3D(6).train(), torch.randn(2, 3, 8, 64, 64)
    stages = network_stages(network, clip)
    assert network.training  # drawing does not switch the network to evaluation for good
    x, expected = clip, []
    with torch.no_grad():
        for index, module in enumerate(network.eval().features):
            x = module(x)
            if index % 3 == 2:  # conv, norm, ReLU
                expected.append(tuple(x.shape))
        pooled = x.mean(dim=(2, 3, 4))
        expected += [tuple(pooled.shape), tuple(network.head(pooled).shape)]
    assert [stage.shape for stage in stages] == [tuple(clip.shape), *expected]
    assert stages[1].description == "Conv3d 3→16, 3×3×3, stride (1, 2, 2) · BatchNorm3d · ReLU"
    assert stages[-2].description == "in forward(): mean over T, H, W"
    drawn = _texts(network_diagram(network, clip, "Tiny3D"))
    assert all(str(shape) in drawn for shape in expected) and "Linear 64→6" in drawn


def test_training_loop_diagram_runs_the_step_it_draws_and_leaves_the_model_alone():
    import torch

    from vmp.book.diagrams import training_step
    from vmp.book.viz import training_loop_diagram
    from vmp.models import build_model

    model = build_model("tiny3d", 5, 4, 32, prompt_init=(0.1, -0.3))
    before = {name: value.clone() for name, value in model.state_dict().items()}
    step = training_step(model, 0.5)
    assert step.shapes == {"clip": "(B, C, T+1, H, W)", "prompts": "(B, C, T, H, W)", "attention": "(B, T, H, W)",
                           "logits": "(B, K)"}
    assert step.prompt_gradients == ["m", "n"] and step.backbone_gradients == step.backbone_tensors > 0
    assert all(torch.equal(value, before[name]) for name, value in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())
    drawn = _texts(training_loop_diagram(model, 0.5))
    assert "λ = 0.5" in " ".join(drawn) and "prompts (B, C, T, H, W)" in drawn
    backward = f"backward: {step.backbone_tensors} of {step.backbone_tensors} tensors get "
    assert backward + "$\\partial L / \\partial \\theta$" in drawn


def test_every_schematic_sits_in_the_chapter_that_teaches_it_with_a_caption():
    from pathlib import Path

    import nbformat

    book = Path(__file__).resolve().parents[1] / "book"
    placed = {"00_preface": ["pipeline_diagram("], "03_attention_and_prompts": ["pipeline_diagram("],
              "06_training_loop": ["network_diagram(tiny3d", "training_loop_diagram("],
              "07_slowfast": ["slowfast_diagram("], "09_timesformer": ["divided_attention_diagram("]}
    for chapter, calls in placed.items():
        cells = [cell for cell in nbformat.read(book / f"{chapter}.ipynb", as_version=4).cells
                 if cell.cell_type == "code"]
        for call in calls:
            drawing = [cell for cell in cells if call in cell.source]
            assert len(drawing) == 1, f"{chapter}: {len(drawing)} cells call {call}"
            caption = drawing[0].metadata.get("mystnb", {}).get("figure", {}).get("caption")
            assert caption, f"{chapter}: {call} has no caption"
