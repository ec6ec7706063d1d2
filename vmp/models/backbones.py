"""Video backbones: SlowFast R50 and X3D-XS/S/M (pytorchvideo), TimeSformer (Hugging Face), Tiny3D.

Every builder takes the class count, the clip length the backbone sees (T, after the VMP layer)
and the crop size, so pooling kernels fit small clips, and ``weights``, and returns a module from
a clip tensor (in its spec's layout) to logits: SlowFast splits the clip into its two pathways
itself, and Hugging Face's TimeSformer is wrapped once (:mod:`vmp.models.timesformer`).
:func:`build_backbone` accepts as ``weights``:

- ``None``: random initialisation;
- ``"kinetics"`` (TimeSformer: also ``"kinetics600"``, a Hugging Face hub id or a saved folder):
  pretrained weights, fetched only now, with a clear error without a network; the
  classification head is then replaced;
- the path of an existing checkpoint file (a state dict, or a :mod:`vmp.train` checkpoint),
  which must fit the backbone except for its classification head;

and raises ``ModelConfigError`` (a ``ValueError``) naming the choices for anything else. Which
backbones exist is :mod:`vmp.models.registry`'s business: one entry each.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import re
import urllib.error
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import torch
from torch import nn

from vmp.models.depthwise import fast_depthwise
from vmp.normalisation import KINETICS
from vmp.weights import load_all_but_head

PYTORCHVIDEO_ZOO = "https://dl.fbaipublicfiles.com/pytorchvideo/model_zoo/kinetics"
KINETICS_URLS = {
    "slowfast_r50": f"{PYTORCHVIDEO_ZOO}/SLOWFAST_8x8_R50.pyth",
    "x3d_xs": f"{PYTORCHVIDEO_ZOO}/X3D_XS.pyth",
    "x3d_s": f"{PYTORCHVIDEO_ZOO}/X3D_S.pyth",
    "x3d_m": f"{PYTORCHVIDEO_ZOO}/X3D_M.pyth",
}
TIMESFORMER_HUB = {
    "kinetics": "facebook/timesformer-base-finetuned-k400",
    "kinetics600": "facebook/timesformer-base-finetuned-k600",
}
SLOWFAST_ALPHA = 4  # the fast pathway sees 4x the frames of the slow one


@dataclass(frozen=True)
class BackboneSpec:
    """What a backbone expects: its input layout, standard clip and crop, and normalisation."""

    layout: str
    frames: int
    crop: int
    mean: tuple[float, float, float] = KINETICS.mean
    std: tuple[float, float, float] = KINETICS.std


#: The normalisation of pytorchvideo's Kinetics models (:data:`vmp.normalisation.KINETICS`).
KINETICS_NORM = KINETICS


class ModelConfigError(ValueError):
    """A model name, clip length or crop size a backbone cannot take."""


class NetworkUnavailableError(RuntimeError):
    """Pretrained weights were asked for but could not be fetched."""


# builders ----------------------------------------------------------------------------------------


@contextlib.contextmanager
def _quiet_pytorchvideo_import() -> Iterator[None]:
    """pytorchvideo 0.1.5 decorates functions with the deprecated ``torch.jit.script`` at import."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*torch.jit.script.*", category=FutureWarning)
        yield


def _fetch_state_dict(url: str, name: str) -> dict:
    """A Kinetics checkpoint from pytorchvideo's model zoo (one of :data:`KINETICS_URLS`).

    Loaded with ``weights_only=True`` first. pytorchvideo's ``.pyth`` files may pickle more than
    tensors, which that refuses with ``UnpicklingError``; only for these official addresses the
    file is then read in full, with a warning, instead of failing with a raw traceback.
    """
    try:
        checkpoint = torch.hub.load_state_dict_from_url(url, map_location="cpu", progress=False, weights_only=True)
    except (urllib.error.URLError, OSError) as error:
        raise NetworkUnavailableError(
            f"cannot fetch Kinetics weights for {name} from {url} ({error}); "
            "pretrained weights need a network (Colab has one), or pass a local checkpoint path"
        ) from error
    except pickle.UnpicklingError as error:
        if url not in KINETICS_URLS.values():
            raise ModelConfigError(f"{url} holds more than tensors and is not an official checkpoint; "
                                   f"refusing to unpickle it ({error})") from error
        warnings.warn(f"{name}: {url} pickles more than tensors; loading it in full (an official pytorchvideo "
                      "checkpoint)", stacklevel=3)
        checkpoint = torch.hub.load_state_dict_from_url(url, map_location="cpu", progress=False, weights_only=False)
    return checkpoint.get("model_state", checkpoint)


def _replace_linear(module: nn.Module, attribute: str, num_classes: int) -> None:
    old = getattr(module, attribute)
    setattr(module, attribute, nn.Linear(old.in_features, num_classes))


def slowfast_pathways(frames: torch.Tensor, alpha: int = SLOWFAST_ALPHA) -> list[torch.Tensor]:
    """``[slow, fast]`` from a ``BCTHW`` clip: fast is the clip, slow takes T/alpha evenly spaced frames."""
    count = frames.shape[2]
    slow = frames.index_select(2, torch.linspace(0, count - 1, count // alpha, device=frames.device).long())
    return [slow, frames]


class SlowFast(nn.Module):
    """pytorchvideo's SlowFast blocks behind the split into pathways: a ``BCTHW`` clip in, logits out.

    The blocks keep pytorchvideo's names (``blocks.N...``), so its Kinetics checkpoints load as they are.
    """

    def __init__(self, blocks: nn.ModuleList, alpha: int = SLOWFAST_ALPHA) -> None:
        super().__init__()
        self.blocks, self.alpha = blocks, alpha

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        x = slowfast_pathways(clip, self.alpha)
        for block in self.blocks:
            x = block(x)
        return x


def build_slowfast_r50(num_classes: int, frames: int, crop: int, weights: str | None,
                       depth: int = 50, width: int = 64) -> nn.Module:
    """SlowFast (:class:`SlowFast`): the fast pathway sees ``frames`` frames, the slow one every 4th.

    The defaults are SlowFast R50 (Kinetics weights exist only for them); ``depth`` 18/50/101 and
    ``width`` (the slow stem's channels; the fast pathway keeps 1/8 of every width) make the
    smaller versions of the same architecture that the book trains on a CPU.
    """
    with _quiet_pytorchvideo_import():
        from pytorchvideo.models.slowfast import create_slowfast

    if frames % SLOWFAST_ALPHA or crop % 32:
        raise ModelConfigError(
            f"slowfast_r50 needs frames divisible by {SLOWFAST_ALPHA} and a crop divisible by 32, got {frames} and "
            f"{crop}"
        )
    if weights == "kinetics" and (depth, width) != (50, 64):
        raise ModelConfigError(
            f"Kinetics weights exist for depth 50 and width 64 only, got depth {depth}, width {width}"
        )
    if width % 8:
        raise ModelConfigError(f"slowfast width must be a multiple of 8 (the fast pathway has 1/8 of it), got {width}")
    pool = ((frames // SLOWFAST_ALPHA, crop // 32, crop // 32), (frames, crop // 32, crop // 32))
    model = create_slowfast(model_depth=depth, stem_dim_outs=(width, width // 8),
                            slowfast_fusion_conv_kernel_size=(7, 1, 1), head_pool_kernel_sizes=pool,
                            model_num_class=400 if weights == "kinetics" else num_classes)
    model = SlowFast(model.blocks)
    if weights == "kinetics":
        model.load_state_dict(_fetch_state_dict(KINETICS_URLS["slowfast_r50"], "slowfast_r50"))
        _replace_linear(model.blocks[-1], "proj", num_classes)
    return model


def build_x3d(variant: str) -> Callable[..., nn.Module]:
    def build(num_classes: int, frames: int, crop: int, weights: str | None,
              width_factor: float = 2.0, depth_factor: float = 2.2) -> nn.Module:
        with _quiet_pytorchvideo_import():
            from pytorchvideo.models.x3d import create_x3d

        if crop % 32:
            raise ModelConfigError(f"{variant} needs a crop divisible by 32, got {crop}")
        if weights == "kinetics" and (width_factor, depth_factor) != (2.0, 2.2):
            raise ModelConfigError(
                f"Kinetics weights exist for width_factor 2.0 and depth_factor 2.2 only, got {width_factor} and "
                f"{depth_factor}"
            )
        # head_activation=None: pytorchvideo's default puts a softmax after the head in training
        # too, and cross-entropy on probabilities instead of logits barely trains.
        model = create_x3d(input_clip_length=frames, input_crop_size=crop, width_factor=width_factor,
                           depth_factor=depth_factor, head_activation=None,
                           model_num_class=400 if weights == "kinetics" else num_classes)
        if weights == "kinetics":
            model.load_state_dict(_fetch_state_dict(KINETICS_URLS[variant], variant))
            _replace_linear(model.blocks[-1], "proj", num_classes)
        fast_depthwise(model)  # the same gradients, a faster CPU backward (benchmarks/bench_depthwise.py)
        return model

    build.__doc__ = (f"{variant.upper()} (pytorchvideo), pooling fitted to the clip; ``width_factor`` and "
                     "``depth_factor`` below the defaults give smaller networks of the same design; its "
                     "depthwise convolutions take :mod:`vmp.models.depthwise`'s faster CPU backward.")
    return build


#: The TimeSformer configuration fields that define its architecture (what a checkpoint must record).
TIMESFORMER_ARCHITECTURE = (
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "intermediate_size",
    "patch_size",
    "attention_type",
    "hidden_act",
    "layer_norm_eps",
    "qkv_bias",
    "num_channels",
)


def build_timesformer(num_classes: int, frames: int, crop: int, weights: str | None, **config) -> nn.Module:
    """TimeSformer (divided space-time attention; :class:`~vmp.models.timesformer.TimesformerClassifier`,
    a ``BTCHW`` clip in, logits out). Random weights use a small configuration unless
    ``config`` says otherwise; ``"kinetics"``/``"kinetics600"``, a hub id or a local directory load
    pretrained weights, whose time and position embeddings are interpolated to ``frames`` and ``crop``."""
    from transformers import TimesformerConfig

    from vmp.models.timesformer import TimesformerClassifier

    if weights is not None:
        model_id = TIMESFORMER_HUB.get(weights, weights)
        try:
            model = TimesformerClassifier.from_pretrained(model_id, num_labels=num_classes,
                                                          ignore_mismatched_sizes=True)
        except OSError as error:
            raise NetworkUnavailableError(
                f"cannot fetch TimeSformer weights {model_id!r} ({error}); they need a network"
            ) from error
        if crop % model.config.patch_size:
            raise ModelConfigError(
                f"timesformer needs a crop divisible by its patch size {model.config.patch_size}, got {crop}"
            )
        resize_timesformer_embeddings(model, frames, crop)
        return model
    small = {
        "hidden_size": 192,
        "num_hidden_layers": 4,
        "num_attention_heads": 3,
        "intermediate_size": 768,
        "patch_size": 16,
    }
    patch = config.get("patch_size", small["patch_size"])
    if crop % patch:
        raise ModelConfigError(f"timesformer needs a crop divisible by its patch size {patch}, got {crop}")
    return TimesformerClassifier(
        TimesformerConfig(num_frames=frames, image_size=crop, num_labels=num_classes, **{**small, **config})
    )


def resize_timesformer_embeddings(model: nn.Module, frames: int, crop: int) -> None:
    """Fit a pretrained TimeSformer's embeddings to ``frames`` and ``crop`` in place: the time
    embeddings linearly over frames, the position grid bicubically over patches (the class token's
    own embedding kept), instead of the fresh ones ``from_pretrained`` would draw for a new size."""
    embeddings, config = model.timesformer.embeddings, model.config
    grid = crop // config.patch_size
    with torch.no_grad():
        if embeddings.attention_type != "space_only" and embeddings.time_embeddings.shape[1] != frames:
            time = nn.functional.interpolate(embeddings.time_embeddings.transpose(1, 2), size=frames, mode="linear",
                                             align_corners=False)
            embeddings.time_embeddings = nn.Parameter(time.transpose(1, 2).contiguous())
        positions = embeddings.position_embeddings
        old_grid = int(round((positions.shape[1] - 1) ** 0.5))
        if old_grid != grid:
            patches = positions[:, 1:].reshape(1, old_grid, old_grid, -1).permute(0, 3, 1, 2)
            patches = nn.functional.interpolate(patches, size=(grid, grid), mode="bicubic", align_corners=False)
            embeddings.position_embeddings = nn.Parameter(
                torch.cat([positions[:, :1], patches.permute(0, 2, 3, 1).reshape(1, grid * grid, -1)], dim=1))
    patch_embeddings = embeddings.patch_embeddings
    patch_embeddings.image_size, patch_embeddings.num_patches = (crop, crop), grid * grid
    embeddings.num_patches = grid * grid
    config.num_frames, config.image_size = frames, crop


def timesformer_architecture(backbone: nn.Module) -> dict:
    """The ``build_backbone`` options that rebuild a TimeSformer's architecture without its weights:
    its configuration (pretrained ones are ViT-B, not the small default)."""
    config = backbone.config.to_dict()
    return {key: config[key] for key in TIMESFORMER_ARCHITECTURE if key in config}


def architecture_options(name: str, backbone: nn.Module) -> dict:
    """The options that rebuild ``backbone``'s architecture (its registry entry's ``architecture``)."""
    from vmp.models.registry import backbone_entry

    architecture = backbone_entry(name).architecture
    return architecture(backbone) if architecture is not None else {}


class Tiny3D(nn.Module):
    """A small 3D CNN that trains in minutes on a CPU: four conv blocks, global pooling, a linear head."""

    def __init__(self, num_classes: int, width: int = 16, norm: str = "batch") -> None:
        super().__init__()
        widths = (width, 2 * width, 4 * width, 4 * width)

        def normalization(channels: int) -> nn.Module:
            return nn.BatchNorm3d(channels) if norm == "batch" else nn.GroupNorm(4, channels)

        layers, previous = [], 3
        for index, channels in enumerate(widths):
            stride = (1, 2, 2) if index == 0 else (2 if index >= 2 else 1, 2, 2)
            layers += [
                nn.Conv3d(previous, channels, 3, stride=stride, padding=1, bias=False),
                normalization(channels),
                nn.ReLU(inplace=True),
            ]
            previous = channels
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(previous, num_classes)

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(clip).mean(dim=(2, 3, 4)))


def build_tiny3d(num_classes: int, frames: int, crop: int, weights: str | None, **options) -> nn.Module:
    """Tiny3D: no public pretrained weights exist, so ``weights`` is always None here."""
    if frames < 1 or crop < 16:
        raise ModelConfigError(f"tiny3d needs at least 1 frame and a crop of 16+, got {frames} and {crop}")
    return Tiny3D(num_classes, **options)


#: Suffixes that mark ``weights`` as a checkpoint file (a missing one is named as such).
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".pyth", ".ckpt", ".tar", ".bin", ".safetensors")
#: A Hugging Face hub id: ``owner/name``.
HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")


def weights_choices(name: str) -> str:
    """What ``weights`` may be for backbone ``name``, in words (for error messages)."""
    from vmp.models.registry import backbone_entry

    entry = backbone_entry(name)
    named = ", ".join(repr(choice) for choice in entry.pretrained)
    return ("None (random initialisation)" + (f", {named}" if named else "")
            + (", a Hugging Face hub id ('owner/name'), a folder save_pretrained wrote" if entry.hub else "")
            + " or the path of an existing checkpoint file")


def resolve_weights(name: str, weights: str | os.PathLike | None) -> tuple[str | None, Path | None]:
    """``(what the builder fetches, a local file to load afterwards)`` for ``weights``; raises
    ``ModelConfigError`` naming the choices for anything that is none of them."""
    from vmp.models.registry import backbone_entry

    entry = backbone_entry(name)
    if weights is None:
        return None, None
    if not isinstance(weights, (str, os.PathLike)):
        raise ModelConfigError(f"weights must be a string or a path, got {type(weights).__name__}")
    path = Path(weights)
    if path.is_file():
        return None, path
    if isinstance(weights, str) and weights in entry.pretrained:
        return weights, None
    looks_like_a_file = path.suffix.lower() in CHECKPOINT_SUFFIXES
    saved_or_hub = (path / "config.json").is_file() or HUB_ID.fullmatch(str(weights))
    if entry.hub and isinstance(weights, str) and not looks_like_a_file and saved_or_hub:
        return weights, None
    if not entry.pretrained and isinstance(weights, str) and weights in ("kinetics", "kinetics600"):
        reason = f"{name} has no public pretrained weights"
    elif looks_like_a_file or path.parent != Path("."):
        reason = f"no checkpoint file {str(weights)!r}"
    else:
        reason = f"unknown weights {str(weights)!r} for {name}"
    book = " ('book', the book's own checkpoint, is build_model's)" if weights == "book" else ""
    raise ModelConfigError(f"{reason}: weights may be {weights_choices(name)}{book}")


def build_backbone(
    name: str, num_classes: int, frames: int | None = None, crop: int | None = None,
    weights: str | os.PathLike | None = None, **options,
) -> nn.Module:
    """A backbone by name (an entry of :data:`vmp.models.registry.REGISTRY`) for ``num_classes``
    classes, clips of ``frames`` frames at ``crop`` pixels; a module from such a clip to logits."""
    from vmp.models.registry import backbone_entry

    entry = backbone_entry(name)
    if num_classes < 1:
        raise ModelConfigError(f"num_classes must be positive, got {num_classes}")
    frames, crop = frames or entry.spec.frames, crop or entry.spec.crop
    fetched, local = resolve_weights(name, weights)
    model = entry.build(num_classes, frames, crop, fetched, **options)
    if local is not None:
        load_backbone_weights(model, local)
    return model


def widen_input_channels(backbone: nn.Module, extra: int) -> list[str]:
    """Give each convolution that reads the clip's 3 channels ``extra`` more input channels, with zero
    weights, so the widened network still computes what it did from the first 3 (a pretrained stem
    stays pretrained) and learns what to take from the rest. Returns the widened layers' names."""
    stems = [(name, module) for name, module in backbone.named_modules()
             if isinstance(module, (nn.Conv2d, nn.Conv3d)) and module.in_channels == 3 and module.groups == 1]
    if not stems:
        raise ModelConfigError(f"{type(backbone).__name__} has no convolution reading 3 input channels to widen")
    for name, conv in stems:
        weight = conv.weight.detach()
        wider = type(conv)(3 + extra, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, conv.dilation,
                           bias=conv.bias is not None, padding_mode=conv.padding_mode)
        with torch.no_grad():
            wider.weight.zero_()
            wider.weight[:, :3] = weight
            if conv.bias is not None:
                wider.bias.copy_(conv.bias)
        parent = backbone.get_submodule(name.rpartition(".")[0]) if "." in name else backbone
        setattr(parent, name.rpartition(".")[2], wider)
    return [name for name, _ in stems]


def load_backbone_weights(model: nn.Module, path: str | os.PathLike) -> list[str]:
    """Load a local state dict (or the backbone of a vmp checkpoint) with ``weights_only=True``.

    Only the classification head may be left as built (missing from the file, or of another shape:
    another class count, as in fine-tuning); any other tensor that is missing, unexpected or of
    another shape raises ``ModelConfigError`` naming the tensors and the file. Returns the names
    of the head's tensors left as built.
    """
    from vmp.checkpoint import read_torch_file

    state = read_torch_file(path)
    if not isinstance(state, dict):
        raise ModelConfigError(f"checkpoint {path} holds no state dict")
    state = state.get("model", state.get("model_state", state))
    prefix = "backbone."
    if any(key.startswith(prefix) for key in state):
        state = {key[len(prefix):]: value for key, value in state.items() if key.startswith(prefix)}
    return load_all_but_head(model, state, path, ModelConfigError)


def __getattr__(name: str):  # noqa: ANN202 - the registry's views, under the names they had here
    if name in ("SPECS", "BUILDERS"):
        from vmp.models import registry

        return getattr(registry, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
