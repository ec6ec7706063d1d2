"""Schematics of the layer, the models and the training loop, drawn from the code they show.

Each diagram reads its content from the package instead of typing it: shapes from running the
layer or a network on a dummy clip, SlowFast's slow frames from
:func:`vmp.models.slowfast_pathways`, TimeSformer's attention groups from its own layer. When the
code changes, the drawing does. Needs matplotlib; every function returns the figure it draws.
"""

from __future__ import annotations

import copy
from typing import NamedTuple, Sequence

import torch
from torch import nn

from vmp.layout import to_canonical
from vmp.loss import temporal_attention_variation
from vmp.models import slowfast_pathways
from vmp.models.backbones import SLOWFAST_ALPHA
from vmp.prompt import MotionPrompt, gray_differences, luma

#: Box colours: data, a fixed operation, something learned, a loss.
DATA, OPERATION, LEARNED, LOSS = "#dbe9f6", "#fde5cc", "#d6efd2", "#f7d4d4"
#: The colour of the backward pass.
BACKWARD = "#c0392b"


# facts read from the code ------------------------------------------------------------------------


def symbolic(shape: Sequence[int], names: dict[int, str]) -> str:
    """``(2, 3, 9)`` as ``"(B, C, T+1)"`` given ``names`` = {2: "B", 3: "C", 9: "T+1"}."""
    return "(" + ", ".join(names.get(int(size), str(int(size))) for size in shape) + ")"


def pipeline_shapes(layer: MotionPrompt | None = None) -> dict[str, str]:
    """The shape of every step of the layer, read by running it on a dummy clip whose axes all
    differ in size and naming each size: ``{"frames": "(B, C, T+1, H, W)", ...}``."""
    layer = layer or MotionPrompt()
    sizes = {"B": 2, "C": 3, "T": 9, "H": 12, "W": 16}
    names = {2: "B", 3: "C", 9: "T+1", 8: "T", 12: "H", 16: "W"}
    clip = torch.zeros(*(sizes[axis] for axis in layer.layout))
    with torch.no_grad():
        prompts, attention = layer(clip)
        frames = to_canonical(clip, layer.layout)
        gray = luma(frames, layer.luma_per_unit)
        differences = gray_differences(frames, layer.luma_per_unit)
    tensors = {"frames": clip, "gray": gray, "differences": differences,
               "attention": attention, "prompts": prompts}
    return {name: symbolic(tensor.shape, names) for name, tensor in tensors.items()}


def slowfast_frames(frames: int, alpha: int = SLOWFAST_ALPHA) -> tuple[list[int], list[int]]:
    """Which of ``frames`` prompts the slow and the fast pathway receive, found by passing
    prompts numbered 0..T-1 through :func:`vmp.models.slowfast_pathways`."""
    numbered = torch.arange(float(frames)).view(1, 1, frames, 1, 1)
    slow, fast = slowfast_pathways(numbered, alpha)
    return slow.flatten().int().tolist(), fast.flatten().int().tolist()


class DividedAttention(NamedTuple):
    """The token groups of a TimeSformer block, in the order the block attends over them."""

    order: list[str]
    """``["time", "space"]``: the steps in the order the block runs them."""
    groups: dict[str, list[list[int]]]
    """Per step, the groups of patch tokens (numbered as the model stores them) that attend
    among themselves."""
    class_token_in: list[str]
    """The steps whose groups also see the class token."""
    frames: int
    patches: int
    blocks: int
    heads: int

    def position(self, token: int) -> tuple[int, int]:
        """(frame, patch) of a token: its space group is its frame, its time group its patch."""
        frame = next(i for i, group in enumerate(self.groups["space"]) if token in group)
        patch = next(i for i, group in enumerate(self.groups["time"]) if token in group)
        return frame, patch

    def token(self, frame: int, patch: int) -> int:
        """The token at (frame, patch)."""
        return (set(self.groups["space"][frame]) & set(self.groups["time"][patch])).pop()

    def route(self, source: tuple[int, int], target: tuple[int, int]) -> list[tuple[int, int]]:
        """How information at ``source`` reaches ``target`` in one block: the first step moves it
        within the source's group, the second within the target's."""
        first = self.order[0]
        middle = (target[0], source[1]) if first == "time" else (source[0], target[1])
        return [source, middle, target]


def divided_attention(config) -> DividedAttention:  # noqa: ANN001 - a transformers TimesformerConfig
    """The groups each step of a TimeSformer block attends over, read from the model's own layer:
    tokens numbered in their first feature go through one block whose temporal output is zeroed,
    and hooks record what reaches the temporal and the spatial attention."""
    from transformers.models.timesformer.modeling_timesformer import TimesformerLayer

    if config.attention_type != "divided_space_time":
        raise ValueError(f"only divided space-time attention has two steps, got {config.attention_type!r}")
    probe = copy.deepcopy(config)
    probe.hidden_size, probe.intermediate_size = 2 * config.num_attention_heads, 4  # eval: no drop path
    layer = TimesformerLayer(probe, 0).eval()
    nn.init.zeros_(layer.temporal_dense.weight)  # the spatial step then sees the tokens as they came
    nn.init.zeros_(layer.temporal_dense.bias)
    patches = (config.image_size // config.patch_size) ** 2
    tokens = config.num_frames * patches
    hidden = torch.zeros(1, 1 + tokens, probe.hidden_size)
    hidden[0, 1:, 0] = torch.arange(1, tokens + 1, dtype=torch.float)  # the class token stays 0
    seen: list[tuple[str, torch.Tensor]] = []
    hooks = [module.register_forward_pre_hook(lambda _, inputs, step=step: seen.append((step, inputs[0])))
             for step, module in (("time", layer.temporal_layernorm), ("space", layer.layernorm_before))]
    try:
        with torch.no_grad():
            layer(hidden)
    finally:
        for hook in hooks:
            hook.remove()
    groups, with_class = {}, []
    for step, grouped in seen:
        numbers = grouped[..., 0].round().long() - 1  # -1: the class token
        if (numbers < 0).any():
            with_class.append(step)
        groups[step] = [[int(n) for n in row if n >= 0] for row in numbers]
    return DividedAttention([step for step, _ in seen], groups, with_class, config.num_frames, patches,
                            config.num_hidden_layers, config.num_attention_heads)


class Stage(NamedTuple):
    """One stage of a network as drawn: the modules it groups and the shape it outputs."""

    description: str
    shape: tuple[int, ...]


def _describe(module: nn.Module) -> str:
    """A module in a few words: kind, channels, kernel and stride where it has them."""
    name = type(module).__name__
    if isinstance(module, (nn.Conv2d, nn.Conv3d)):
        kernel = "×".join(map(str, module.kernel_size))
        return f"{name} {module.in_channels}→{module.out_channels}, {kernel}, stride {tuple(module.stride)}"
    if isinstance(module, nn.Linear):
        return f"{name} {module.in_features}→{module.out_features}"
    return name


def _reshaped(before: tuple[int, ...], after: tuple[int, ...], axes: str) -> str:
    """What ``forward`` did between two modules: pooled trailing axes (named by ``axes``), or a reshape."""
    if len(after) < len(before) and before[:len(after)] == after:
        dropped = axes[len(after):len(before)] if len(axes) == len(before) else range(len(after), len(before))
        return f"in forward(): mean over {', '.join(map(str, dropped))}"
    return f"in forward(): {before} → {after}"


def network_stages(network: nn.Module, clip: torch.Tensor, axes: str = "BCTHW") -> list[Stage]:
    """The stages of ``network`` and their output shapes, read with forward hooks while it runs on
    ``clip`` (whose axes ``axes`` names): a stage starts at each convolution or linear layer and
    takes the modules after it; a shape change between modules (pooling written in ``forward``)
    is a stage of its own."""
    calls: list[tuple[nn.Module, tuple[int, ...], tuple[int, ...]]] = []
    leaves = [module for module in network.modules() if not list(module.children())]
    hooks = [module.register_forward_hook(
        lambda module, inputs, output: calls.append((module, tuple(inputs[0].shape), tuple(output.shape))))
        for module in leaves]
    training = network.training
    try:
        with torch.no_grad():
            network.eval()(clip)
    finally:
        network.train(training)
        for hook in hooks:
            hook.remove()
    stages = [Stage("input", tuple(clip.shape))]
    for module, before, after in calls:
        if before != stages[-1].shape:
            stages.append(Stage(_reshaped(stages[-1].shape, before, axes), before))
        if isinstance(module, (nn.Conv2d, nn.Conv3d, nn.Linear)) or len(stages) == 1:
            stages.append(Stage(_describe(module), after))
        else:
            stages[-1] = Stage(f"{stages[-1].description} · {_describe(module)}", after)
    return stages


class TrainingStep(NamedTuple):
    """One training step of a prompted model, as run: tensor shapes and where gradients arrive."""

    shapes: dict[str, str]
    tav_weight: float
    prompt_gradients: list[str]
    backbone_gradients: int
    backbone_tensors: int


def training_step(model: nn.Module, tav_weight: float, size: tuple[int, int] = (40, 48)) -> TrainingStep:
    """Run ``CE + tav_weight * TAV`` and its backward pass once on a dummy batch for ``model`` (a
    :class:`vmp.models.PromptedModel` with a VMP layer), as :func:`vmp.train.train_one_epoch`
    computes them, and record the shapes and which parameters receive a gradient."""
    model = copy.deepcopy(model)  # the step must not move the caller's weights or statistics
    frames, classes = model.frames, model.num_classes
    taken = {3, frames, frames + 1, classes, *size}
    batch = next(b for b in range(2, 100) if b not in taken)
    # each tensor's sizes named among its own axes: K may equal T+1, and is only in the logits
    clip_names = {batch: "B", frames + 1: "T+1", frames: "T", 3: "C", size[0]: "H", size[1]: "W"}
    names = {"clip": clip_names, "prompts": clip_names, "attention": clip_names, "logits": {batch: "B", classes: "K"}}
    sizes = {"B": batch, "C": 3, "T": frames + 1, "H": size[0], "W": size[1]}
    clip = torch.randn(*(sizes[axis] for axis in model.layout))
    labels = torch.arange(batch) % classes
    model.train()
    prompts, _ = model.stage(clip)
    logits, attention = model(clip)
    ce = nn.functional.cross_entropy(logits, labels)
    loss = ce + tav_weight * temporal_attention_variation(attention)
    loss.backward()
    shapes = {"clip": clip.shape, "prompts": prompts.shape, "attention": attention.shape, "logits": logits.shape}
    backbone = [p for p in model.backbone.parameters() if p.requires_grad]
    return TrainingStep({name: symbolic(shape, names[name]) for name, shape in shapes.items()}, tav_weight,
                        [name for name, p in model.prompt.named_parameters() if p.grad is not None],
                        sum(p.grad is not None for p in backbone), len(backbone))


# drawing -----------------------------------------------------------------------------------------


def _canvas(width: float, height: float, scale: float = 0.8):  # noqa: ANN202 - (figure, axes)
    """A figure whose axes run 0..width and 0..height in data units, without frame or ticks."""
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(width * scale, height * scale))
    axis.set_xlim(0, width)
    axis.set_ylim(0, height)
    axis.axis("off")
    figure.subplots_adjust(0, 0, 1, 1)
    return figure, axis


def _box(axis, x: float, y: float, width: float, height: float, lines: Sequence[str],  # noqa: ANN001
         colour: str, size: float = 9) -> tuple[float, float, float, float]:
    """A rounded box with centred lines of text; returns (x, y, width, height)."""
    from matplotlib.patches import FancyBboxPatch

    axis.add_patch(FancyBboxPatch((x, y), width, height, boxstyle="round,pad=0,rounding_size=0.1",
                                  facecolor=colour, edgecolor="#444444", linewidth=1))
    axis.text(x + width / 2, y + height / 2, "\n".join(lines), ha="center", va="center", fontsize=size,
              linespacing=1.5)
    return x, y, width, height


def _arrow(axis, start: tuple[float, float], end: tuple[float, float], label: str | None = None,  # noqa: ANN001
           colour: str = "#333333", dashed: bool = False, bend: float = 0.0, size: float = 8,
           offset: tuple[float, float] = (0, 0.18)) -> None:
    """An arrow from ``start`` to ``end``, optionally bent and labelled at its middle."""
    axis.annotate("", xy=end, xytext=start, arrowprops={
        "arrowstyle": "-|>", "color": colour, "linewidth": 1.3, "linestyle": "--" if dashed else "-",
        "connectionstyle": f"arc3,rad={bend}", "shrinkA": 0, "shrinkB": 0, "mutation_scale": 12})
    if label:
        middle = ((start[0] + end[0]) / 2 + offset[0], (start[1] + end[1]) / 2 + offset[1])
        axis.text(*middle, label, ha="center", va="bottom", fontsize=size, color=colour)


def _right(box: tuple[float, float, float, float]) -> tuple[float, float]:
    return box[0] + box[2], box[1] + box[3] / 2


def _left(box: tuple[float, float, float, float]) -> tuple[float, float]:
    return box[0], box[1] + box[3] / 2


def _top(box: tuple[float, float, float, float]) -> tuple[float, float]:
    return box[0] + box[2] / 2, box[1] + box[3]


def _bottom(box: tuple[float, float, float, float]) -> tuple[float, float]:
    return box[0] + box[2] / 2, box[1]


def pipeline_diagram(layer: MotionPrompt | None = None):  # noqa: ANN201 - a matplotlib Figure
    """The VMP layer's pipeline, frames → gray → differences → sigmoid attention → prompts →
    backbone, each step with the shape :func:`pipeline_shapes` reads from running the layer."""
    shapes = pipeline_shapes(layer)
    figure, axis = _canvas(15.9, 4.8)
    steps = [
        (["frames $F_0, \\dots, F_T$", "normalised", shapes["frames"]], DATA),
        (["gray $G_t$", "BT.601 luma", shapes["gray"]], OPERATION),
        (["differences $D_t$", "$G_t - G_{t-1}$", shapes["differences"]], OPERATION),
        (["attention $A_t$", "$\\sigma(a\\,(D_t - b))$", shapes["attention"]], LEARNED),
        (["prompts $P_t$", "$A_t \\odot F_t$", shapes["prompts"]], DATA),
        (["backbone", "SlowFast, X3D,", "TimeSformer, Tiny3D"], OPERATION),
    ]
    boxes = [_box(axis, 0.1 + 2.75 * i, 1.5, 1.95, 1.5, lines, colour) for i, (lines, colour) in enumerate(steps)]
    frames_in, differences_out = shapes["gray"].split(", ")[1], shapes["differences"].split(", ")[1]
    for i, (left, right) in enumerate(zip(boxes, boxes[1:])):
        label = f"{frames_in} → {differences_out}" if i == 1 else None
        _arrow(axis, _right(left), _left(right), label, offset=(0, 0.1))
    parameters = _box(axis, boxes[3][0] - 0.55, 0.15, 3.05, 0.85,
                      ["learned: $a = 5 / (0.45\\,|\\tanh m| + 0.1)$", "$b = 0.6 \\tanh n$"], LEARNED, size=8)
    _arrow(axis, _top(parameters), _bottom(boxes[3]))
    span = _top(boxes[4])[0] - _top(boxes[0])[0]  # the arc rises by bend * span / 2 at its middle
    _arrow(axis, _top(boxes[0]), _top(boxes[4]), "frames $F_1, \\dots, F_T$", bend=-0.18,
           offset=(0, 0.09 * span + 0.06))
    axis.text(7.95, 4.75, f"the VMP layer: {frames_in} frames in, {differences_out} prompts out",
              ha="center", va="top", fontsize=10)
    return figure


def slowfast_diagram(frames: int, alpha: int = SLOWFAST_ALPHA):  # noqa: ANN201 - a matplotlib Figure
    """Where the prompts enter SlowFast: T+1 frames → the VMP layer → T prompts; the fast pathway
    takes all of them, the slow one those :func:`slowfast_frames` finds the code selects."""
    slow, fast = slowfast_frames(frames, alpha)
    width, left = 5.6 / frames, 4.5
    end = left + frames * width + 0.3
    figure, axis = _canvas(end + 4.9, 5.0)
    clip = _box(axis, 0.1, 2.0, 1.8, 1.0, ["clip", f"{frames + 1} frames"], DATA)
    layer = _box(axis, 2.4, 2.0, 1.5, 1.0, ["VMP", "layer"], LEARNED)
    _arrow(axis, _right(clip), _left(layer))
    rows = {"fast": 3.9, "prompts": 2.25, "slow": 0.6}
    for t in range(frames):
        x = left + t * width
        for row, y in rows.items():
            taken = row == "prompts" or (row == "fast" and t in fast) or (row == "slow" and t in slow)
            axis.add_patch(_square(x, y, width, DATA if taken else "white", taken))
            if taken and frames <= 16:
                axis.text(x + width * 0.45, y + width * 0.45, str(t), ha="center", va="center", fontsize=7)
        centre = x + width * 0.45
        if t in fast:
            axis.plot([centre] * 2, [rows["prompts"] + width * 0.9, rows["fast"]], color="#999999", lw=0.6)
        if t in slow:
            axis.plot([centre] * 2, [rows["prompts"], rows["slow"] + width * 0.9], color="#555555", lw=0.9)
    _arrow(axis, _right(layer), (left - 0.1, rows["prompts"] + width * 0.45))
    axis.text(left, rows["prompts"] + width + 0.1, f"{frames} prompts, numbered from 0", fontsize=8,
              bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
    axis.text(left, rows["fast"] + width + 0.1, f"fast pathway gets prompts {fast if frames <= 8 else 'all'}",
              fontsize=8)
    axis.text(left, rows["slow"] - 0.35, f"slow pathway gets prompts {slow}", fontsize=8)
    fast_box = _box(axis, end + 0.4, rows["fast"] - 0.3, 2.3, 1.1,
                    ["fast pathway", f"{len(fast)} frames, few channels"], OPERATION, size=8.5)
    slow_box = _box(axis, end + 0.4, rows["slow"] - 0.3, 2.3, 1.1,
                    ["slow pathway", f"{len(slow)} frames, many channels"], OPERATION, size=8.5)
    for row, box in (("fast", fast_box), ("slow", slow_box)):
        _arrow(axis, (end - 0.2, rows[row] + width * 0.45), _left(box))
    _arrow(axis, _bottom(fast_box), _top(slow_box), "lateral", offset=(0.45, -0.1))
    head = _box(axis, end + 3.2, 1.95, 1.5, 1.1, ["head", "class scores"], OPERATION, size=8.5)
    _arrow(axis, _right(fast_box), _top(head))
    _arrow(axis, _right(slow_box), _bottom(head))
    return figure


def _square(x: float, y: float, width: float, colour: str, solid: bool):  # noqa: ANN202 - a Rectangle
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), width * 0.9, width * 0.9, facecolor=colour, edgecolor="#444444" if solid else "#bbbbbb",
                     linewidth=0.8, linestyle="-" if solid else ":")


def divided_attention_diagram(config, source: tuple[int, int] = (1, 2),  # noqa: ANN001, ANN201
                              target: tuple[int, int] = (2, 0)):
    """Divided space-time attention on a grid of tokens (frames × patches): which tokens the time
    step and the space step let ``source`` see, and the route from ``source`` to ``target`` in
    one block, all read from the model's layer by :func:`divided_attention`."""
    from matplotlib.patches import Rectangle

    attention = divided_attention(config)
    token = attention.token(*source)
    seen = {step: next(group for group in attention.groups[step] if token in group) for step in attention.order}
    route = attention.route(source, target)
    cell = 0.7
    panel = attention.patches * cell + 1.6
    figure, axis = _canvas(3 * panel + 0.4, attention.frames * cell + 1.75)
    what = {"time": "its patch in every frame", "space": "every patch of its frame"}
    titles = {step: f"{number}. {step} step: A sees {what[step]}"
              for number, step in enumerate(attention.order, start=1)}
    order = ", then ".join(attention.order)
    panels = [*((titles[step], seen[step]) for step in attention.order), (f"one block ({order}): A reaches B", [])]
    top = attention.frames * cell + 0.6
    for index, (title, tokens) in enumerate(panels):
        x0 = 1.2 + index * panel
        axis.text(x0 + attention.patches * cell / 2, top + 0.55, title, ha="center", fontsize=8.5)
        for frame in range(attention.frames):
            for patch in range(attention.patches):
                lit = attention.token(frame, patch) in tokens
                axis.add_patch(Rectangle((x0 + patch * cell, top - (frame + 1) * cell), cell * 0.92, cell * 0.92,
                                         facecolor="#f5b041" if lit else "#eeeeee", edgecolor="#888888"))
            if index == 0:
                axis.text(x0 - 0.1, top - (frame + 0.55) * cell, f"frame {frame}", ha="right", va="center",
                          fontsize=8)
        for patch in range(attention.patches):
            axis.text(x0 + (patch + 0.46) * cell, top + 0.1, str(patch), ha="center", fontsize=7, color="#666666")
        if index == 0:
            axis.text(x0 - 0.1, top + 0.1, "patch", ha="right", fontsize=7, color="#666666")
        if index == 2:
            frame, patch = route[1]
            axis.add_patch(Rectangle((x0 + patch * cell, top - (frame + 1) * cell), cell * 0.92, cell * 0.92,
                                     facecolor="#f5b041", edgecolor="#888888"))
        marks = [("A", source)] + ([("B", target)] if index == 2 else [])
        for letter, (frame, patch) in marks:
            axis.text(x0 + (patch + 0.46) * cell, top - (frame + 0.54) * cell, letter, ha="center", va="center",
                      fontsize=10, fontweight="bold")
        if index == 2:
            centres = [(x0 + (p + 0.46) * cell, top - (f + 0.54) * cell) for f, p in route]
            steps = attention.order
            for start, end in zip(centres, centres[1:]):
                _arrow(axis, start, end, colour=BACKWARD, bend=0.25)
            via = "B's frame, A's patch" if steps[0] == "time" else "A's frame, B's patch"
            axis.text(x0 + attention.patches * cell / 2, 0.35,
                      f"via (frame {route[1][0]}, patch {route[1][1]}): {via}", ha="center", fontsize=8)
    with_class = " and ".join(attention.class_token_in)
    axis.text(1.2, 0.35, f"{attention.frames} frames of {attention.patches} patches"
              + (f"; the {with_class} step also sees the class token" if with_class else ""), fontsize=8)
    axis.text(1.2, -0.05, f"both steps run in each of the {attention.blocks} blocks, "
              f"{attention.heads} heads each", fontsize=8, va="bottom")
    axis.set_ylim(-0.15, attention.frames * cell + 1.75)
    return figure


def network_diagram(network: nn.Module, clip: torch.Tensor, title: str | None = None,  # noqa: ANN201
                    axes: str = "BCTHW"):
    """A network drawn stage by stage, top to bottom, each stage with the output shape that
    :func:`network_stages` records while the network runs on ``clip``."""
    stages = network_stages(network, clip, axes)
    height = 0.75
    figure, axis = _canvas(11.0, len(stages) * height + 0.9)
    top = len(stages) * height + 0.2
    boxes = []
    for index, stage in enumerate(stages):
        y = top - (index + 1) * height
        colour = DATA if index == 0 else OPERATION if stage.description.startswith("in forward") else LEARNED
        boxes.append(_box(axis, 0.2, y + 0.08, 7.2, height - 0.2, [stage.description], colour, size=8.5))
        axis.text(7.7, y + height / 2 - 0.02, str(stage.shape), va="center", fontsize=8.5, family="monospace")
    for upper, lower in zip(boxes, boxes[1:]):
        _arrow(axis, _bottom(upper), _top(lower))
    axis.text(7.7, top + 0.05, "output shape", fontsize=8.5, fontweight="bold")
    if title:
        axis.text(0.2, top + 0.05, title, fontsize=9, fontweight="bold")
    return figure


def training_loop_diagram(model: nn.Module, tav_weight: float = 0.0):  # noqa: ANN201 - a matplotlib Figure
    """One training step: clip → VMP layer → backbone → cross-entropy; attention → TAV × λ; the
    sum's backward pass into the backbone and (m, n). Shapes, λ and where the gradients arrive
    are those :func:`training_step` records running the step on ``model``."""
    step = training_step(model, tav_weight)
    shapes = step.shapes
    figure, axis = _canvas(14.0, 5.3)
    clip = _box(axis, 0.1, 3.0, 1.9, 1.1, ["clip", shapes["clip"]], DATA, size=8.5)
    layer = _box(axis, 2.9, 3.0, 1.9, 1.1, ["VMP layer", "$m$, $n$"], LEARNED)
    backbone = _box(axis, 6.9, 3.0, 1.9, 1.1, ["backbone", f"{step.backbone_tensors} weight tensors"], LEARNED,
                    size=8.5)
    ce = _box(axis, 10.0, 3.0, 1.9, 1.1, ["cross-entropy", "CE(logits, y)"], LOSS, size=8.5)
    tav = _box(axis, 6.9, 0.6, 1.9, 1.1, ["TAV", "$R(A)$"], LOSS)
    weight = _box(axis, 9.3, 0.6, 1.2, 1.1, ["$\\times\\,\\lambda$", f"λ = {step.tav_weight:g}"], OPERATION, size=8.5)
    total = _box(axis, 12.3, 1.9, 1.6, 1.1, ["loss", "$L = $CE$ + \\lambda R$"], LOSS, size=8.5)
    _arrow(axis, _right(clip), _left(layer))
    _arrow(axis, _right(layer), _left(backbone), f"prompts {shapes['prompts']}")
    _arrow(axis, _right(backbone), _left(ce), f"logits {shapes['logits']}")
    _arrow(axis, _bottom(layer), _left(tav), f"attention {shapes['attention']}", bend=0.25, offset=(-1.3, -0.7))
    _arrow(axis, _right(tav), _left(weight))
    _arrow(axis, _right(ce), _top(total))
    _arrow(axis, _right(weight), _bottom(total))
    reached = ", ".join(f"$\\partial L / \\partial {name}$" for name in step.prompt_gradients) or "no gradient"
    rail = 5.0
    axis.plot([_top(total)[0]] * 2 + [_top(layer)[0]], [_top(total)[1], rail, rail], color=BACKWARD, ls="--", lw=1.3)
    for box in (backbone, layer):
        _arrow(axis, (_top(box)[0], rail), _top(box), colour=BACKWARD, dashed=True)
    axis.text(_top(backbone)[0] + 0.15, rail - 0.45, f"backward: {step.backbone_gradients} of "
              f"{step.backbone_tensors} tensors get $\\partial L / \\partial \\theta$", color=BACKWARD, fontsize=8)
    axis.text(_top(layer)[0] + 0.15, rail - 0.45, reached, color=BACKWARD, fontsize=8)
    return figure
