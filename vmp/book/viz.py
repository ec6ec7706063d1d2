"""Figures for the book: frame strips, signed differences, attention maps, animations, schematics.

Needs matplotlib (``pip install vmp[book]``). Every function returns the figure or HTML it makes,
so a chapter can show, save or test it.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np
import torch

# the schematics (their own module, drawn from the code they show), under the book's one figure module
from vmp.book.diagrams import (  # noqa: F401
    divided_attention_diagram,
    network_diagram,
    pipeline_diagram,
    slowfast_diagram,
    training_loop_diagram,
)
from vmp.normalisation import KINETICS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from vmp.experiment import Run


def _array(image: torch.Tensor | np.ndarray) -> np.ndarray:
    return image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)


def grid(rows: Sequence[Sequence], row_titles: Sequence[str], column_titles: Sequence[str] | None = None,
         kinds: Sequence[str] | None = None, size: float = 1.6, limit: float | None = None) -> Figure:
    """A figure of images, one row per sequence. ``kinds[r]``: ``"rgb"`` (uint8 or [0, 1] floats),
    ``"signed"`` (diverging colours, symmetric around 0, ``limit`` sets the range) or ``"map"`` ([0, 1]).
    Every signed or map row gets a colorbar: a difference or an attention is read off its colours."""
    import matplotlib.pyplot as plt

    kinds = kinds or ["rgb"] * len(rows)
    columns = max(len(row) for row in rows)
    # each row as tall as its images are at this width: no empty bands around wide frames
    heights = [size * height / width for height, width in (_array(row[0]).shape[:2] for row in rows)]
    figure, axes = plt.subplots(len(rows), columns, figsize=(size * columns + 0.8, sum(heights) + 0.3 * len(rows)),
                                squeeze=False, layout="constrained", gridspec_kw={"height_ratios": heights})
    for r, (row, kind) in enumerate(zip(rows, kinds)):
        shown = None
        for c in range(columns):
            axis = axes[r][c]
            axis.set_xticks([])
            axis.set_yticks([])
            if c >= len(row):
                axis.axis("off")
                continue
            image = _array(row[c])
            if kind == "signed":
                bound = limit or float(np.abs(image).max()) or 1.0
                shown = axis.imshow(image, cmap="RdBu_r", vmin=-bound, vmax=bound)
            elif kind == "map":
                shown = axis.imshow(image, cmap="magma", vmin=0, vmax=1)
            else:
                axis.imshow(image if image.dtype == np.uint8 else np.clip(image, 0, 1))
            if c == 0:
                axis.set_ylabel(row_titles[r], fontsize=9)
            if column_titles and r == 0:
                axis.set_title(column_titles[c], fontsize=9)
        if shown is not None:
            bar = figure.colorbar(shown, ax=list(axes[r]), shrink=0.85, pad=0.01, aspect=12)
            bar.ax.tick_params(labelsize=7)
            bar.set_label("difference" if kind == "signed" else "attention", fontsize=8)
    return figure


class Animation:
    """A JavaScript animation for the web page, with one still (``still``, a PNG) for print and
    other places that cannot run it: a notebook shows the animation, the PDF edition the still."""

    def __init__(self, html: str, still: bytes) -> None:
        self.html, self.still = html, still

    def _repr_html_(self) -> str:
        return self.html

    def _repr_png_(self) -> bytes:
        return self.still

    def __repr__(self) -> str:
        return "Animation (a still in print)"


def animate(panels: dict[str, Sequence], kinds: dict[str, str] | None = None, interval: int = 250, size: float = 2.2,
            limit: float | None = None, still: int | None = None) -> Animation:
    """A JavaScript animation of several image sequences side by side, one frame at a time; its
    still for print is frame ``still`` (by default the middle one)."""
    import io

    import matplotlib.pyplot as plt
    from matplotlib import animation

    kinds = kinds or {}
    names = list(panels)
    frames = min(len(panels[name]) for name in names)
    figure, axes = plt.subplots(1, len(names), figsize=(size * len(names), size))
    axes = np.atleast_1d(axes)
    images = []
    for axis, name in zip(axes, names):
        first = _array(panels[name][0])
        kind = kinds.get(name, "rgb")
        if kind == "signed":
            bound = limit or max(float(np.abs(_array(f)).max()) for f in panels[name]) or 1.0
            images.append(axis.imshow(first, cmap="RdBu_r", vmin=-bound, vmax=bound))
        elif kind == "map":
            images.append(axis.imshow(first, cmap="magma", vmin=0, vmax=1))
        else:
            images.append(axis.imshow(first))
        axis.set_title(name, fontsize=10)
        axis.axis("off")
    figure.tight_layout()

    def update(index: int) -> list:
        for image, name in zip(images, names):
            image.set_data(_array(panels[name][index]))
        return images

    html = animation.FuncAnimation(figure, update, frames=frames, interval=interval, blit=True).to_jshtml(
        default_mode="loop"
    )
    update(frames // 2 if still is None else still)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return Animation(without_icon_font(html), buffer.getvalue())


#: matplotlib's animation buttons as plain characters instead of Font Awesome icons.
_BUTTON_GLYPHS = {"fa-minus": "\u2212", "fa-fast-backward": "|\u25c0", "fa-step-backward": "\u25c0|",
                  "fa-play fa-flip-horizontal": "\u25c0", "fa-pause": "\u275a\u275a", "fa-play": "\u25b6",
                  "fa-step-forward": "|\u25b6", "fa-fast-forward": "\u25b6|", "fa-plus": "+"}


def without_icon_font(html: str) -> str:
    """matplotlib's JavaScript animation without its Font Awesome stylesheet, which it loads from a
    CDN: the buttons get plain characters, so the published page makes no request elsewhere."""
    import re

    html = re.sub(r'<link rel="stylesheet"\s+href="https://[^"]*font-awesome[^"]*">', "", html)
    return re.sub(r'<i class="fa (fa-[a-z-]+(?: fa-flip-horizontal)?)"></i>',
                  lambda match: _BUTTON_GLYPHS.get(match.group(1), match.group(1)), html)


def to_unit(
    clip: torch.Tensor, mean: Sequence[float] = KINETICS.mean, std: Sequence[float] = KINETICS.std
) -> torch.Tensor:
    """A normalised ``(C, T, H, W)`` clip back to displayable ``(T, H, W, C)`` values in [0, 1]."""
    mean_t = torch.tensor(mean).view(3, 1, 1, 1)
    std_t = torch.tensor(std).view(3, 1, 1, 1)
    return (clip.detach().cpu() * std_t + mean_t).clamp(0, 1).permute(1, 2, 3, 0)


def learning_curves(histories: dict[str, Sequence[dict]], chance: float | None = None) -> Figure:
    """Training cross-entropy and validation top-1 per epoch, one line per run (each a
    :func:`vmp.train.fit` history), with chance level marked if given."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    for name, history in histories.items():
        epochs = [record["epoch"] for record in history]
        axes[0].plot(epochs, [record["train_ce"] for record in history], "o-", ms=3, label=name)
        axes[1].plot(epochs, [record["val_top1"] for record in history], "o-", ms=3, label=name)
    if chance is not None:
        axes[1].axhline(chance, color="gray", ls="--", lw=1, label="chance")
    axes[0].set_title("training cross-entropy")
    axes[1].set_title("validation top-1")
    for axis in axes:
        axis.set_xlabel("epoch")
    axes[1].legend(fontsize=8)
    figure.tight_layout()
    return figure


def layer_trajectories(runs: dict[str, tuple[Sequence[float], Sequence[float]]],
                       reference: dict[float, tuple[float, float]] | None = None) -> Figure:
    """The layer's slope and shift per epoch (epoch 0: the start), one line per run; ``reference``
    (lambda -> (slope, shift), e.g. the authors' published values) is drawn as dotted levels."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    for name, (slopes, shifts) in runs.items():
        axes[0].plot(range(len(slopes)), slopes, "o-", ms=3, label=name)
        axes[1].plot(range(len(shifts)), shifts, "o-", ms=3, label=name)
    if reference:
        for index, (_lam, (slope, shift)) in enumerate(sorted(reference.items())):
            label = "authors' page (FineGym)" if index == 0 else None
            axes[0].axhline(slope, color="gray", ls=":", lw=0.8, label=label)
            axes[1].axhline(shift, color="gray", ls=":", lw=0.8, label=label)
    axes[0].set(title="slope a", xlabel="epoch", ylim=(5, 52))
    axes[1].set(title="shift b", xlabel="epoch", ylim=(-0.62, 0.62))
    axes[1].axhline(0, color="black", lw=0.6)
    axes[1].legend(fontsize=8)
    figure.tight_layout()
    return figure


def attention_before_after(clips: Sequence[torch.Tensor], before: torch.nn.Module, after: torch.nn.Module,
                           titles: Sequence[str], frame: int = 4, layout: str = "BCTHW") -> Figure:
    """For each clip (T+1 normalised frames in ``layout``): frame ``frame``, and the attention map
    the layer gives it before and after training (two :class:`vmp.MotionPrompt` layers), with colorbars."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(3, len(clips), figsize=(2.3 * len(clips), 6.4), squeeze=False)
    for column, (clip, title) in enumerate(zip(clips, titles)):
        batch = clip.unsqueeze(0)
        with torch.no_grad():
            # a layer fine-tuned on a GPU stays there: feed it there, draw on the CPU
            maps = [layer(batch.to(next(layer.parameters()).device)).attention[0, frame - 1].cpu()
                    for layer in (before, after)]
        canonical = batch.permute(0, 2, 1, 3, 4) if layout == "BTCHW" else batch
        axes[0][column].imshow(to_unit(canonical[0])[frame].numpy())
        axes[0][column].set_title(title, fontsize=9)
        for row, attention in enumerate(maps, start=1):
            image = axes[row][column].imshow(attention.numpy(), cmap="magma", vmin=0, vmax=1)
            figure.colorbar(image, ax=axes[row][column], fraction=0.046, pad=0.04)
    for row, label in enumerate((f"frame {frame}", "attention, start", "attention, fine-tuned")):
        axes[row][0].set_ylabel(label, fontsize=9)
    for axis in axes.flat:
        axis.set_xticks([])
        axis.set_yticks([])
    figure.tight_layout()
    return figure


def what_the_layer_learned(run: Run, test_set: torch.utils.data.Dataset,
                           authors: dict[float, tuple[float, float]] | None = None, layout: str = "BCTHW",
                           start: tuple[float, float] | None = None) -> tuple[list[float], list[float]]:
    """Two figures of a fine-tuned VMP layer (a :class:`vmp.experiment.Run`): its slope and shift per
    epoch beside ``authors``' values, and the attention of two test clips at the start and at the end.
    Returns the slopes and shifts per epoch (epoch 0: the start)."""
    import matplotlib.pyplot as plt

    from vmp.prompt import DEFAULT_START, MotionPrompt, m_n_for

    slopes = [run.initial[0]] + [epoch["slope"] for epoch in run.history]
    shifts = [run.initial[1]] + [epoch["shift"] for epoch in run.history]
    layer_trajectories({"VMP": (slopes, shifts)}, authors)
    plt.show()
    m, n = m_n_for(*(start or DEFAULT_START))
    picks = [0, len(test_set) // 2]
    attention_before_after([test_set[i][0] for i in picks], MotionPrompt(layout, m=m, n=n), run.model.prompt,
                           [test_set.classes[test_set[i][1]] for i in picks], layout=layout)
    plt.show()
    return slopes, shifts


class SliderFigure:
    """A figure with sliders that works in a static web page: every combination of the sliders'
    values is drawn in advance, and a few lines of JavaScript show the picture the sliders select.
    No kernel and no script from elsewhere are needed, so the published book responds offline."""

    def __init__(self, pictures: dict[tuple[int, ...], str], parameters: dict[str, Sequence[float]],
                 start: tuple[int, ...], label_format: str = "{:.3g}") -> None:
        self.pictures, self.parameters, self.start = pictures, parameters, start
        self.label_format = label_format
        digest = hashlib.sha1("".join(pictures[key] for key in sorted(pictures)).encode()).hexdigest()
        self.id = f"vmp-slider-{digest[:12]}"  # stable across runs, so executed notebooks reproduce

    def html(self) -> str:
        import json

        names = list(self.parameters)
        sources = {"-".join(map(str, key)): f"data:image/png;base64,{value}" for key, value in self.pictures.items()}
        labels = [[self.label_format.format(v) for v in values] for values in self.parameters.values()]
        start_key = "-".join(map(str, self.start))
        rows = "".join(
            f'<label style="display:block;font-family:sans-serif;font-size:13px">{name} '
            f'<input type="range" min="0" max="{len(values) - 1}" step="1" value="{self.start[i]}" '
            f'data-index="{i}" style="width:60%;vertical-align:middle"> '
            f'<output>{labels[i][self.start[i]]}</output></label>'
            for i, (name, values) in enumerate(self.parameters.items()))
        script = (
            f"(function(){{var root=document.getElementById('{self.id}');"
            f"var sources={json.dumps(sources)};var labels={json.dumps(labels)};"
            "var inputs=root.querySelectorAll('input[type=range]');"
            "function show(){var key=[];inputs.forEach(function(input,i){key.push(input.value);"
            "input.nextElementSibling.textContent=labels[i][input.value];});"
            "root.querySelector('img').src=sources[key.join('-')];}"
            "inputs.forEach(function(input){input.addEventListener('input',show);});})();"
        )
        return (f'<div id="{self.id}" class="vmp-slider-figure">{rows}'
                f'<img src="{sources[start_key]}" alt="{", ".join(names)} explorer" style="max-width:100%">'
                f"<script>{script}</script></div>")

    def _repr_html_(self) -> str:
        return self.html()

    def _repr_png_(self) -> bytes:
        """The picture at the sliders' start: what print shows of this figure."""
        import base64

        return base64.b64decode(self.pictures[self.start])

    def __repr__(self) -> str:
        sliders = ", ".join(f"{name}: {len(values)} values" for name, values in self.parameters.items())
        return f"SliderFigure({sliders}; {len(self.pictures)} pictures)"


def slider_figure(
    draw: Callable[..., Figure],
    parameters: dict[str, Sequence[float]],
    start: dict[str, float] | None = None,
    dpi: int = 100,
    label_format: str = "{:.3g}",
) -> SliderFigure:
    """Draw ``draw(*values)`` (a function returning a matplotlib figure, called with one value per
    slider, in ``parameters``' order) for every combination of the sliders' values, and return the
    pictures behind one slider per parameter (see :class:`SliderFigure`)."""
    import base64
    import io
    import itertools

    import matplotlib.pyplot as plt

    if not parameters or any(len(values) == 0 for values in parameters.values()):
        raise ValueError(f"every slider needs at least one value, got {parameters}")
    names = list(parameters)
    pictures = {}
    for key in itertools.product(*(range(len(values)) for values in parameters.values())):
        figure = draw(*(parameters[name][i] for name, i in zip(names, key)))
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
        plt.close(figure)
        pictures[key] = base64.b64encode(buffer.getvalue()).decode()
    start = start or {}
    unknown = sorted(set(start) - set(names))
    if unknown:
        raise ValueError(f"start names {unknown} are not sliders ({names})")
    first = tuple(int(np.argmin([abs(v - start.get(name, values[0])) for v in values]))
                  for name, values in parameters.items())
    return SliderFigure(pictures, parameters, first, label_format)


def speed_benchmark_chart(regimes: dict[str, dict[str, dict[str, float]]]) -> Figure:
    """The layer's speed benchmark (:func:`vmp.book.report.read_speed_benchmark`) as bars: median time
    of each contender, forward and forward+backward, one panel per allocation regime (log scale:
    the contenders differ up to fortyfold), and peak memory in units of what the layer returns."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FormatStrFormatter

    names = list(regimes)
    figure, axes = plt.subplots(1, len(names) + 1, figsize=(3.6 * (len(names) + 1), 2.9), layout="constrained")
    passes = (("fwd", "forward", "tab:blue"), ("fwd+bwd", "forward+backward", "tab:orange"))
    for axis, name in zip(axes, names):
        times = regimes[name]["times_ms"]
        contenders = [c for c in ("ours", "authors", "floor", "compiled") if f"{c} fwd" in times]
        for offset, (suffix, label, colour) in zip((-0.2, 0.2), passes):
            values = [times[f"{c} {suffix}"] for c in contenders]
            bars = axis.barh([i + offset for i in range(len(contenders))], values, height=0.4, color=colour,
                             label=label)
            axis.bar_label(bars, fmt="%.1f", fontsize=7, padding=2)
        axis.set_yticks(range(len(contenders)), contenders)
        axis.invert_yaxis()
        axis.set_xscale("log")
        axis.xaxis.set_major_formatter(FormatStrFormatter("%g"))
        axis.set(title=f"allocation: {name}", xlabel="median time (ms, log scale)")
    longest = max(v for name in names for v in regimes[name]["times_ms"].values())
    shortest = min(v for name in names for v in regimes[name]["times_ms"].values())
    for axis in axes[:-1]:
        axis.set_xlim(shortest / 2, longest * 4)  # one scale for both regimes; room for the labels
    figure.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=2, fontsize=8)
    memory = regimes[names[0]]["memory"]
    kept = [k for k in memory if k.split(",")[0] in ("ours", "authors") or k.startswith("floor")]
    bars = axes[-1].barh(range(len(kept)), [memory[k] for k in kept], color="tab:gray")
    axes[-1].bar_label(bars, fmt="%.2f×", fontsize=7, padding=2)
    axes[-1].set_yticks(range(len(kept)), kept)
    axes[-1].invert_yaxis()
    axes[-1].set_xlim(0, max(memory[k] for k in kept) * 1.3)
    axes[-1].set(title="peak memory", xlabel="× what the layer returns")
    return figure


def disagreement_grid(clips: Sequence, attentions: Sequence, labels: Sequence[int], first: Sequence[int],
                      second: Sequence[int], classes: Sequence[str], names: tuple[str, str] = ("frames", "VMP"),
                      size: float = 0.9) -> Figure:
    """Clips two inputs disagree on: each clip's frames 1..T (``(T, H, W, 3)`` in [0, 1]) over the
    layer's attention (``(T, H, W)``), with the true class and both inputs' predictions beside them
    (a tick marks the right one, a cross the wrong one)."""
    rows, titles, kinds = [], [], []
    for clip, attention, label, a, b in zip(clips, attentions, labels, first, second):
        marks = ["\u2713" if p == label else "\u2717" for p in (a, b)]
        titles += [f"true: {classes[label]}\n{names[0]}: {classes[a]} {marks[0]}\n"
                   f"{names[1]}: {classes[b]} {marks[1]}", "attention"]
        rows += [list(clip), list(attention)]
        kinds += ["rgb", "map"]
    if not rows:
        raise ValueError("no clips to show")
    return grid(rows, titles, [f"frame {t}" for t in range(1, len(rows[0]) + 1)], kinds=kinds, size=size)
