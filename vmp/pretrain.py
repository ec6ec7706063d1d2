"""The book's pretrained backbones: trained once on the source task, shipped in the package.

The paper fine-tunes Kinetics models; a CPU cannot train those, so the book makes its own small
stand-in. Each backbone (a small SlowFast, X3D, TimeSformer and Tiny3D, each its own architecture)
learns the synthetic *source* task (:data:`vmp.data.synth.SOURCE_CLASSES`: 8 coarse motion
classes whose sprites usually wear their class's look) from plain frames, never through a motion
prompt, exactly as a Kinetics model never saw one. ``python -m vmp pretrain`` does it all and
writes, per backbone, the backbone's weights without its classification head (float16) and an entry
of ``vmp/checkpoints/manifest.json``. ``build_model(..., weights="book")`` loads them back through
:mod:`vmp.weights`, checking the file's SHA-256, the clip length and crop, and the model's configuration.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import torch

from vmp.checkpoint import atomic_write_bytes, atomic_write_json
from vmp.data.download import sha256_of
from vmp.data.synth import SynthConfig, nuisance
from vmp.models import registry
from vmp.weights import CHECKPOINTS, classifier_prefix, read_manifest

#: The clip every book checkpoint is built for: T = 8 frames (9 with the layer) at a 64-pixel crop.
FRAMES, CROP, SHORT_SIDE = 8, 64, 80
#: The source task: 8 classes x 400 clips (240 for training), light nuisance, its own seed.
SOURCE = SynthConfig(seed=1000, task="source", classes=8, clips_per_class=400, frames=FRAMES + 1,
                     size=SHORT_SIDE, distractors=nuisance("light"))
#: A control, not shipped: the same motions with the slides' direction in the label, 10 classes
#: x 320 clips (3,200 in all, as in SOURCE), to test whether pooling directions costs the targets.
DIRECTED_SOURCE = dataclasses.replace(SOURCE, task="source_directed", classes=10, clips_per_class=320)
#: The clean control, not shipped: direction in the label only on the diagonals, where no target
#: class lives; 11 classes x 291 clips (3,201, as near 3,200 as 11 classes allow).
DIAGONAL_SOURCE = dataclasses.replace(SOURCE, task="source_diagonal", classes=11, clips_per_class=291)


#: The book's small configurations and their pretraining recipes: each backbone's
#: ``pretraining`` in :data:`vmp.models.registry.REGISTRY`.
RECIPES = registry.RECIPES
#: How one backbone is built and pretrained (defined with the registry).
Recipe = registry.Recipe


def pretrain(backbone: str, data: str | os.PathLike, out: str | os.PathLike = CHECKPOINTS, seed: int = 0,
             epochs: int | None = None, work: str | os.PathLike | None = None, source: SynthConfig = SOURCE) -> dict:
    """Pretrain one backbone on the source task in ``data`` from frames; write its checkpoint
    (float16, head removed) and its training history under ``out``; return its manifest entry.
    ``source`` picks the task (:data:`DIRECTED_SOURCE` for the direction-keeping control).

    With ``work``, a full training checkpoint is kept in ``work/<backbone>`` after every epoch and
    a killed run resumes from it.
    """
    from vmp.experiment import Profile, load_splits
    from vmp.models import SPECS, build_model
    from vmp.train import TrainConfig, evaluate, fit, seed_everything

    recipe = RECIPES[backbone]
    profile = Profile("source", frames=FRAMES, crop=CROP, short_side=SHORT_SIDE, epochs=epochs or recipe.epochs,
                      batch_size=recipe.batch_size, optimizer=recipe.optimizer, lr=recipe.lr, prompt_lr=None,
                      milestones=(), flip=False, weights=None, synthetic=source)
    splits = load_splits(profile, SPECS[backbone], root=data)
    seed_everything(seed)
    model = build_model(backbone, len(splits.train.classes), FRAMES, CROP, input="frames", **recipe.model_args)
    config = TrainConfig(epochs=profile.epochs, batch_size=recipe.batch_size, optimizer=recipe.optimizer, lr=recipe.lr,
                         weight_decay=recipe.weight_decay, warmup_epochs=recipe.warmup_epochs,
                         clip_grad_norm=recipe.clip_grad_norm, seed=seed)
    run = Path(work) / backbone if work is not None else None
    resume = run is not None and (run / "checkpoint.pt").is_file()
    start = time.perf_counter()
    history = fit(model, splits.train, splits.val, config, out=run, resume=resume)
    seconds = time.perf_counter() - start
    test = evaluate(model, splits.test)
    head = classifier_prefix(model.backbone)
    state = {key: value.half() if value.is_floating_point() else value
             for key, value in model.backbone.state_dict().items() if not key.startswith(head)}
    out = Path(out)
    file = f"{backbone}_source.pt"
    atomic_write_bytes(out / file, lambda handle: torch.save(state, handle))
    atomic_write_json(out / f"{backbone}_history.json", history)
    entry = {"backbone": backbone, "file": file, "sha256": sha256_of(out / file), "frames": FRAMES, "crop": CROP,
             "model_args": recipe.model_args, "source_top1": round(test["top1"], 4),
             "recipe": {**{k: v for k, v in asdict(recipe).items() if k != "model_args"}, "epochs": profile.epochs,
                        "seed": seed, "input": "frames", "schedule": "cosine"},
             "source_val_top1": round(history[-1]["val_top1"], 4), "train_seconds": round(seconds, 1)}
    write_manifest_entry(out, entry, source)
    return entry


def write_manifest_entry(out: str | os.PathLike, entry: dict, source: SynthConfig = SOURCE) -> None:
    """Add or replace one backbone's entry in ``out/manifest.json`` (written atomically)."""
    out = Path(out)
    entries = read_manifest(out)
    entries[entry["backbone"]] = entry
    manifest = {"source": {**asdict(source), "classes": list(source.class_names)},
                "checkpoints": [entries[name] for name in sorted(entries)]}
    atomic_write_json(out / "manifest.json", manifest)


def pretrain_all(backbones: list[str], data: str | os.PathLike | None = None, out: str | os.PathLike = CHECKPOINTS,
                 epochs: int | None = None, work: str | os.PathLike | None = None) -> list[dict]:
    """Generate the source task once (in ``data``, a temporary folder by default) and pretrain each
    backbone (resumable through ``work``, see :func:`pretrain`)."""
    unknown = sorted(set(backbones) - set(RECIPES))
    if unknown:
        raise ValueError(f"no pretraining recipe for {unknown}; choose from {sorted(RECIPES)}")
    data = Path(data or tempfile.mkdtemp(prefix="vmp-source-"))
    entries = []
    for backbone in backbones:
        entry = pretrain(backbone, data, out, epochs=epochs, work=work)
        print(f"{backbone}: source test top-1 {entry['source_top1']:.3f} in {entry['train_seconds']:.0f} s", flush=True)
        entries.append(entry)
    return entries
