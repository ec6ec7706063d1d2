"""Checkpoints written atomically and restored exactly: model, optimiser, schedule, epoch, RNGs, history.

A checkpoint is written to a temporary file in the same folder and renamed over the old one, so a
run killed at any moment leaves either the previous checkpoint or the new one, never half of one.
Everything is saved as tensors and plain Python values, so it loads with ``weights_only=True``.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch


class CheckpointError(ValueError):
    """A checkpoint that cannot be read, or does not fit the model it is loaded into."""


def atomic_write_bytes(path: Path, write) -> None:  # noqa: ANN001 - write(file object)
    """Call ``write(handle)`` on a temporary file beside ``path``, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        with os.fdopen(handle, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)


def atomic_write_json(path: Path, value: Any) -> None:
    atomic_write_bytes(path, lambda out: out.write((json.dumps(value, indent=2) + "\n").encode()))


def append_record(path: Path, record: dict) -> None:
    """Append one run to a resumable sweep's JSON-lines file, on disk before the next run starts."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as results:
        results.write(json.dumps(record) + "\n")
        results.flush()
        os.fsync(results.fileno())


def read_records(path: Path) -> list[dict]:
    """The JSON lines of a resumable sweep's results; a last line cut short by a killed run is
    dropped from the file, so the sweep resumes with that run."""
    path = Path(path)
    if not path.is_file():
        return []
    text = path.read_text()
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
        path.write_text(text)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def rng_states() -> dict:
    """The random states a training run consumes: Python, NumPy, torch (and CUDA if present)."""
    numpy_state = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    return {
        "python": {"version": version, "internal": list(internal), "gauss_next": gauss_next},
        "numpy": {"keys": torch.from_numpy(numpy_state[1].astype(np.int64)), "pos": int(numpy_state[2]),
                  "has_gauss": int(numpy_state[3]), "cached": float(numpy_state[4])},
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def restore_rng_states(states: dict) -> None:
    python = states["python"]
    random.setstate((python["version"], tuple(python["internal"]), python["gauss_next"]))
    numpy = states["numpy"]
    np.random.set_state(
        ("MT19937", numpy["keys"].numpy().astype(np.uint32), numpy["pos"], numpy["has_gauss"], numpy["cached"])
    )
    torch.set_rng_state(states["torch"])
    if torch.cuda.is_available() and states["cuda"]:
        torch.cuda.set_rng_state_all(states["cuda"])


def save_checkpoint(path: str | os.PathLike, **state: Any) -> None:
    """Write ``state`` (model/optimiser/scheduler state dicts, epoch, history, ...) plus RNG states."""
    payload = {**state, "rng": rng_states()}
    atomic_write_bytes(Path(path), lambda out: torch.save(payload, out))


def read_torch_file(path: str | os.PathLike) -> Any:
    """``torch.load(path, weights_only=True)`` on the CPU, with errors that name the file:
    FileNotFoundError if it is missing, CheckpointError if it cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for a damaged file
        raise CheckpointError(f"checkpoint {path} is damaged or not a PyTorch checkpoint: {error}") from error


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Read a vmp checkpoint (see :func:`read_torch_file`) and check that it holds a model state."""
    checkpoint = read_torch_file(path)
    if not isinstance(checkpoint, dict) or "model" not in checkpoint:
        raise CheckpointError(f"checkpoint {path} holds no model state")
    return checkpoint


def load_model_state(model: torch.nn.Module, state: dict, path: str | os.PathLike) -> None:
    """Load a state dict, turning a shape or key mismatch into a CheckpointError naming the file."""
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        raise CheckpointError(f"checkpoint {path} does not fit this model: {error}") from error
