"""Figures the chapters draw from package code."""

import matplotlib

matplotlib.use("Agg")

from vmp.viz import learning_curves  # noqa: E402


def test_learning_curves_draw_one_line_per_run_and_chance():
    history = [{"epoch": 1, "train_ce": 2.0, "val_top1": 0.2}, {"epoch": 2, "train_ce": 1.5, "val_top1": 0.4}]
    figure = learning_curves({"frames": history, "VMP": history}, chance=0.25)
    loss, accuracy = figure.axes
    assert len(loss.lines) == 2 and len(accuracy.lines) == 3
    assert list(accuracy.lines[1].get_ydata()) == [0.2, 0.4] and list(accuracy.lines[2].get_ydata()) == [0.25, 0.25]
    assert [text.get_text() for text in accuracy.get_legend().get_texts()] == ["frames", "VMP", "chance"]
    assert len(learning_curves({"frames": history}).axes[1].lines) == 1
