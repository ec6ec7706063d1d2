"""The book's pretrained backbones on disk: where they live, their manifest, and loading one.

The checkpoints ship inside the package (``vmp/checkpoints``, package data), so an installed copy
of ``vmp`` (Colab's ``pip install``) finds them as an editable one does. This module sits below
:mod:`vmp.models`, which loads through it; :mod:`vmp.pretrain` writes what it reads.
"""

from __future__ import annotations

import json
import os
from importlib.resources import files
from pathlib import Path

from torch import nn

from vmp.checkpoint import read_torch_file
from vmp.data.download import sha256_of

#: Where the book's checkpoints live: the package's own ``checkpoints`` folder, or ``$VMP_CHECKPOINTS``.
CHECKPOINTS = Path(os.environ.get("VMP_CHECKPOINTS") or str(files("vmp") / "checkpoints"))


class BookWeightsError(ValueError):
    """A book checkpoint that is unknown, missing, altered, or built for another clip or model."""


def classifier_prefix(model: nn.Module) -> str:
    """The state-dict prefix of a backbone's classification head: its last ``nn.Linear``."""
    linears = [name for name, module in model.named_modules() if isinstance(module, nn.Linear)]
    if not linears:
        raise ValueError(f"{type(model).__name__} has no linear classification head")
    return linears[-1] + "."


def read_manifest(directory: str | os.PathLike = CHECKPOINTS) -> dict[str, dict]:
    """``manifest.json``'s entries by backbone name (empty if there is none yet)."""
    path = Path(directory) / "manifest.json"
    if not path.is_file():
        return {}
    return {entry["backbone"]: entry for entry in json.loads(path.read_text())["checkpoints"]}


def book_checkpoint(backbone: str, frames: int, crop: int, model_args: dict,
                    directory: str | os.PathLike | None = None) -> tuple[Path, dict]:
    """The verified checkpoint file for ``backbone`` and the model arguments it was built with.

    ``model_args`` left empty take the checkpoint's; given ones must equal them. Raises
    :class:`BookWeightsError` naming what is wrong and what to pass instead.
    """
    directory = Path(directory or os.environ.get("VMP_CHECKPOINTS") or CHECKPOINTS)
    entries = read_manifest(directory)
    if backbone not in entries:
        raise BookWeightsError(f"no book checkpoint for {backbone!r} in {directory / 'manifest.json'}; "
                               f"there are {sorted(entries)} (python -m vmp pretrain writes them)")
    entry = entries[backbone]
    if (frames, crop) != (entry["frames"], entry["crop"]):
        raise BookWeightsError(f"the book's {backbone} checkpoint is built for frames={entry['frames']}, "
                               f"crop={entry['crop']}, not frames={frames}, crop={crop}: pass those")
    if model_args and model_args != entry["model_args"]:
        raise BookWeightsError(f"the book's {backbone} checkpoint has model arguments {entry['model_args']}, "
                               f"not {model_args}: pass those, or none")
    path = directory / entry["file"]
    if not path.is_file():
        raise BookWeightsError(
            f"{directory / 'manifest.json'} lists {entry['file']} for {backbone}, but {path} is missing"
        )
    if sha256_of(path) != entry["sha256"]:
        raise BookWeightsError(f"{path} does not match the SHA-256 in {directory / 'manifest.json'}: "
                               "the file was altered or damaged; restore it (git checkout) or pretrain again")
    return path, entry["model_args"]


def load_book_weights(model: nn.Module, path: str | os.PathLike) -> None:
    """Load a headless book checkpoint into a freshly built backbone; its new head stays as built."""
    state = read_torch_file(path)
    head = classifier_prefix(model)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or any(not key.startswith(head) for key in missing):
        raise BookWeightsError(f"checkpoint {path} does not fit this backbone: missing "
                               f"{[k for k in missing if not k.startswith(head)][:5]}, unexpected {unexpected[:5]}")
