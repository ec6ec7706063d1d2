"""Figures the chapters draw from package code."""

import matplotlib

matplotlib.use("Agg")

from vmp.viz import learning_curves


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
    from vmp.viz import attention_before_after, layer_trajectories

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

    from vmp.viz import slider_figure

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

    from vmp.viz import animate

    shown = animate({"frames": [torch.rand(8, 8, 3) for _ in range(3)]})
    html = shown._repr_html_()
    assert shown._repr_png_().startswith(b"\x89PNG")  # the still that print shows
    assert "font-awesome" not in html and 'class="fa ' not in html
    assert "https://" not in html and "\u25b6" in html  # the play button, as a character
