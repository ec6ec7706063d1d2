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


def load_all_but_head(model: nn.Module, state: dict, source: str | os.PathLike,
                      error: type[Exception] = ValueError) -> list[str]:
    """Load ``state`` into ``model``, of which only the classification head (:func:`classifier_prefix`)
    may be left as built: missing from ``state``, or of another shape (another class count). Any
    other tensor that is missing, unexpected or of another shape raises ``error`` naming the
    tensors and ``source``. Returns the names of the head's tensors left as built."""
    head = classifier_prefix(model)
    own = model.state_dict()
    reshaped = [key for key, value in state.items() if key in own and own[key].shape != value.shape]
    missing = [key for key in own if key not in state]
    problems = {
        "missing": [key for key in missing if not key.startswith(head)],
        "unexpected": [key for key in state if key not in own],
        "of another shape": [f"{key} {tuple(state[key].shape)} (the model's: {tuple(own[key].shape)})"
                             for key in reshaped if not key.startswith(head)],
    }
    if any(problems.values()):
        named = "; ".join(f"{kind}: {', '.join(keys[:5])}" + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")
                          for kind, keys in problems.items() if keys)
        raise error(f"checkpoint {source} does not fit this backbone (only its head {head[:-1]!r} may differ): "
                    f"{named}")
    model.load_state_dict({key: value for key, value in state.items() if key not in reshaped}, strict=False)
    return sorted(reshaped + missing)


def load_book_weights(model: nn.Module, path: str | os.PathLike) -> None:
    """Load a headless book checkpoint into a freshly built backbone; its new head stays as built."""
    load_all_but_head(model, read_torch_file(path), path, BookWeightsError)
