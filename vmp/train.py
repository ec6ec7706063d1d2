"""The training loop: cross-entropy + lambda * TAV, in plain PyTorch, resumable and distributable.

One epoch is: shuffle (a permutation fixed by seed and epoch), forward the T+1-frame clips,
``loss = CE(logits, labels) + tav_weight * TAV(attention)``, backward, clip gradients, step;
then evaluate, record the epoch in the history, and write a checkpoint atomically. Under
``torchrun`` the same loop runs with DistributedDataParallel and a DistributedSampler.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import random
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler
from tqdm.auto import tqdm

from vmp.checkpoint import (
    CheckpointError,
    atomic_write_json,
    load_checkpoint,
    load_model_state,
    restore_rng_states,
    save_checkpoint,
)
from vmp.loss import temporal_attention_variation
from vmp.metrics import confusion_matrix, summarize, topk_correct
from vmp.models.adapter import PromptedModel
from vmp.schedule import lr_factor


@dataclass
class TrainConfig:
    """Everything that shapes a run besides the model and the data."""

    epochs: int = 10
    batch_size: int = 8
    optimizer: str = "sgd"  # or "adamw"
    lr: float = 0.01
    prompt_lr: float | None = None  # a separate learning rate for the layer's m and n
    momentum: float = 0.9
    weight_decay: float = 1e-4
    schedule: str = "cosine"  # "cosine", "step" or "constant"
    milestones: Sequence[int] = ()
    gamma: float = 0.1
    warmup_epochs: int = 0
    tav_weight: float = 0.0  # lambda
    clip_grad_norm: float | None = None
    amp: bool = True  # mixed precision, on CUDA only
    workers: int = 0
    seed: int = 0
    deterministic: bool = False
    eval_batch_size: int | None = None


@dataclass
class EarlyStopping:
    """Stop training once validation stops rising, and put back the best epoch's weights.

    An epoch counts as a rise when its ``metric`` is at least ``min_delta`` above the last epoch
    that counted as one (the first epoch counts); training stops after ``patience`` epochs in a
    row without a rise. :meth:`restore` loads the weights of the epoch with the highest ``metric``
    (the earliest on ties), so a run is tested as it was at its best on validation.
    """

    patience: int = 5
    min_delta: float = 0.0
    metric: str = "val_top1"
    best: float = field(default=-math.inf, init=False)
    best_epoch: int = field(default=0, init=False)
    stopped_epoch: int | None = field(default=None, init=False)  # None: ran every epoch allowed
    _reference: float = field(default=-math.inf, init=False, repr=False)
    _waited: int = field(default=0, init=False, repr=False)
    _state: dict | None = field(default=None, init=False, repr=False)

    def update(self, epoch: int, value: float, model: nn.Module) -> bool:
        """Take one epoch's validation value (keeping the weights if it is the best); True: stop."""
        if value > self.best:
            self.best, self.best_epoch = value, epoch
            self._state = copy.deepcopy(_unwrap(model).state_dict())
        if value >= self._reference + self.min_delta:
            self._reference, self._waited = value, 0
        else:
            self._waited += 1
        if self._waited >= self.patience:
            self.stopped_epoch = epoch
            return True
        return False

    def restore(self, model: nn.Module) -> None:
        """Load the best epoch's weights into ``model``."""
        if self._state is None:
            raise RuntimeError("no epoch was recorded: nothing to restore")
        _unwrap(model).load_state_dict(self._state)


# set-up -------------------------------------------------------------------------------------------


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed Python, NumPy and torch; optionally ask torch for deterministic kernels only."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False


#: The process group's backends by device: NCCL for the model's CUDA tensors, gloo for the CPU
#: tensors the metrics are summed in (NCCL refuses CPU tensors).
PROCESS_GROUP_BACKEND = {True: "cpu:gloo,cuda:nccl", False: "gloo"}


def distributed_context() -> tuple[int, int]:
    """(rank, world size); joins the process group when launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(PROCESS_GROUP_BACKEND[torch.cuda.is_available()])
    return (dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else (0, 1)


def default_device(rank: int = 0) -> torch.device:
    if torch.cuda.is_available():
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", rank)) % torch.cuda.device_count())
        torch.cuda.set_device(device)
        return device
    return torch.device("cpu")


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """SGD or AdamW; the prompt's two scalars get ``prompt_lr`` (if set) and no weight decay."""
    layer = getattr(model, "prompt", None)
    prompt = list(layer.parameters()) if layer is not None else []
    others = [p for p in model.parameters() if all(p is not q for q in prompt)]
    groups = [{"params": others}]
    if prompt:
        groups.append({"params": prompt, "lr": config.prompt_lr or config.lr, "weight_decay": 0.0})
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=config.lr, weight_decay=config.weight_decay)
    raise ValueError(f"optimizer must be 'sgd' or 'adamw', got {config.optimizer!r}")


def make_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig) -> torch.optim.lr_scheduler.LambdaLR:
    def factor(epoch: int) -> float:
        return lr_factor(epoch, config.epochs, config.schedule, config.warmup_epochs, config.milestones, config.gamma)

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def check_compatible(model: PromptedModel, dataset: Dataset, what: str) -> None:
    """Fail before training if the data's classes or clip length do not fit the model."""
    classes = getattr(dataset, "classes", None)
    if classes is not None and len(classes) != model.num_classes:
        raise ValueError(f"{what} has {len(classes)} classes but the model predicts {model.num_classes}")
    frames = getattr(dataset, "frames", None)
    if frames is not None and frames != model.frames + 1:
        raise ValueError(f"{what} gives clips of {frames} frames but the model takes {model.frames + 1} (T+1)")


def _unwrap(model: nn.Module) -> nn.Module:
    """The model inside a DistributedDataParallel wrapper, or the model itself."""
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def prompt_parameters(model: nn.Module) -> dict:
    """The layer's effective slope and shift (NaN without a sigmoid layer) and, for a PN function,
    its parameter: for the history."""
    prompt = getattr(_unwrap(model), "prompt", None)
    values = {"slope": float("nan"), "shift": float("nan")}
    return {**values, **prompt.learned()} if prompt is not None else values


class ShardSampler(Sampler[int]):
    """Items ``rank, rank + world, ...``: over all processes every item exactly once, no padding.

    ``DistributedSampler`` pads the data to a multiple of the world size by repeating items, which
    training tolerates but evaluation must not: a 23-clip test set would be scored as 24.
    """

    def __init__(self, dataset: Dataset, rank: int, world: int) -> None:
        self.indices = range(rank, len(dataset), world)

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


def pins_memory(device: torch.device) -> bool:
    """Whether loaders feeding ``device`` should return page-locked batches: on a GPU they copy
    asynchronously (``non_blocking``) while the next batch decodes; on a CPU pinning only costs."""
    return torch.device(device).type == "cuda"


def _distributed_loader(dataset: Dataset, batch: int, workers: int, shuffle: bool = False, seed: int = 0,
                        epoch: int = 0, pin_memory: bool = False) -> DataLoader:
    """This process's share of ``dataset``: for training (``shuffle``) a permutation fixed by seed and
    epoch, padded to equal shares; for evaluation every item once over all processes."""
    rank, world = (dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else (0, 1)
    if shuffle:
        sampler = DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=True, seed=seed)
        sampler.set_epoch(epoch)
    else:
        sampler = ShardSampler(dataset, rank, world)
    generator = torch.Generator().manual_seed(seed * 100_003 + epoch)  # seeds the workers, per epoch
    return DataLoader(dataset, batch_size=batch, sampler=sampler, num_workers=workers, generator=generator,
                      pin_memory=pin_memory)


def _all_reduce(values: torch.Tensor) -> torch.Tensor:
    if dist.is_initialized():
        dist.all_reduce(values)
    return values


# one epoch ----------------------------------------------------------------------------------------


def progress(loader: DataLoader, description: str) -> tqdm:
    """A progress bar over ``loader``; ``TQDM_DISABLE=1`` hides it, in notebooks too (tqdm's own
    notebook bars ignore that variable, and executed chapters must not store them)."""
    hidden = os.environ.get("TQDM_DISABLE", "").lower() not in ("", "0", "false")
    return tqdm(loader, desc=description, leave=False, disable=hidden)


def train_one_epoch(model: nn.Module, loader: DataLoader, optimizer: torch.optim.Optimizer, config: TrainConfig,
                    device: torch.device, scaler: torch.amp.GradScaler | None, description: str) -> dict:
    """One pass over ``loader``; returns mean loss, cross-entropy, TAV and top-1 over all ranks."""
    model.train()
    sums = torch.zeros(5, dtype=torch.float64)  # loss, ce, tav, correct, count
    autocast = torch.autocast(device.type, dtype=torch.float16) if scaler is not None else nullcontext()
    for clips, labels in progress(loader, description):
        clips, labels = clips.to(device, non_blocking=True), labels.to(device, non_blocking=True)
        with autocast:
            logits, attention = model(clips)
            ce = F.cross_entropy(logits.float(), labels)
            tav = (
                temporal_attention_variation(attention.float())
                if attention is not None and attention.shape[1] > 1
                else ce.new_zeros(())
            )
            loss = ce + config.tav_weight * tav
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
        else:
            loss.backward()
        if config.clip_grad_norm:
            nn.utils.clip_grad_norm_(model.parameters(), config.clip_grad_norm)
        if scaler is not None:
            scaler.step(optimizer)
            scaler.update()
        else:
            optimizer.step()
        n = len(labels)
        sums += torch.tensor([loss.item() * n, ce.item() * n, tav.item() * n,
                              (logits.argmax(1) == labels).sum().item(), n], dtype=torch.float64)
    sums = _all_reduce(sums)
    count = sums[4].item()
    return {
        "loss": sums[0].item() / count,
        "ce": sums[1].item() / count,
        "tav": sums[2].item() / count,
        "top1": sums[3].item() / count,
    }


@torch.no_grad()
def evaluate(
    model: nn.Module,
    dataset: Dataset,
    batch_size: int = 8,
    workers: int = 0,
    device: torch.device | None = None,
    description: str = "eval",
) -> dict:
    """Top-1, top-5, mean class accuracy, loss and confusion matrix over all ranks, and ``correct``:
    1 or 0 per item of ``dataset``, in its order (for analyses that resample clips).

    A dataset that returns several views per video (``(V, ...)`` clips, multi-view testing) is
    scored by averaging the views' softmax probabilities.
    """
    device = device or next(model.parameters()).device
    inner = _unwrap(model)
    num_classes = inner.num_classes
    loader = _distributed_loader(dataset, batch_size, workers, pin_memory=pins_memory(device))
    order = torch.tensor(list(loader.sampler), dtype=torch.int64)  # this process's items, in the order it scores them
    model.eval()
    confusion = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    correct = torch.zeros(len(dataset), dtype=torch.int64)
    extra = torch.zeros(2, dtype=torch.float64)  # top-5 correct, loss sum
    scored = 0
    for clips, labels in progress(loader, description):
        clips, labels = clips.to(device, non_blocking=True), labels.to(device, non_blocking=True)
        views = clips.shape[1] if clips.dim() == 6 else 1
        logits = inner(clips.flatten(0, 1) if views > 1 else clips).logits.float()
        probabilities = logits.softmax(-1).reshape(len(labels), views, -1).mean(1)
        predicted = probabilities.argmax(1).cpu()
        confusion += confusion_matrix(predicted, labels.cpu(), num_classes)
        correct[order[scored:scored + len(labels)]] = (predicted == labels.cpu()).long()
        scored += len(labels)
        extra += torch.tensor(
            [
                topk_correct(probabilities, labels, 5),
                F.nll_loss(probabilities.clamp_min(1e-12).log(), labels, reduction="sum").item(),
            ],
            dtype=torch.float64,
        )
    confusion, extra, correct = _all_reduce(confusion), _all_reduce(extra), _all_reduce(correct)
    return {**summarize(confusion, int(extra[0].item()), extra[1].item()), "correct": correct.tolist()}


# the loop -----------------------------------------------------------------------------------------


def fit(model: PromptedModel, train_set: Dataset, val_set: Dataset | None = None, config: TrainConfig | None = None,
        out: str | os.PathLike | None = None, resume: bool = False, model_args: dict | None = None,
        device: torch.device | None = None, early_stopping: EarlyStopping | None = None) -> list[dict]:
    """Train ``model`` and return its history: one dict per epoch, also saved as ``out/history.json``.

    With ``out``, a checkpoint ``out/checkpoint.pt`` is written atomically after every epoch;
    ``resume=True`` continues from it exactly (model, optimiser, schedule, epoch, RNGs, history).
    The checkpoint stores ``model_args`` (by default the model's own
    :attr:`~vmp.models.PromptedModel.rebuild_args` and the training data's classes, see
    :func:`model_args_of`), so :func:`load_trained` and ``python -m vmp eval`` rebuild the model.
    With ``early_stopping``, ``config.epochs`` is the most epochs run: training stops when its rule
    fires and the model ends with the best validation epoch's weights (the last checkpoint keeps
    the last epoch's).
    """
    config = config or TrainConfig()
    model_args = model_args if model_args is not None else model_args_of(model, train_set)
    if early_stopping is not None and (val_set is None or resume):
        raise ValueError("early stopping needs a validation set, and does not resume (its state is not checkpointed)")
    check_compatible(model, train_set, "the training data")
    if val_set is not None:
        check_compatible(model, val_set, "the validation data")
    rank, world = distributed_context()
    if config.batch_size % world:
        raise ValueError(f"batch_size {config.batch_size} must be divisible by the {world} processes")
    seed_everything(config.seed, config.deterministic)
    device = device or default_device(rank)
    model.to(device)
    optimizer = make_optimizer(model, config)
    scheduler = make_scheduler(optimizer, config)
    scaler = torch.amp.GradScaler("cuda") if config.amp and device.type == "cuda" else None
    history: list[dict] = []
    start = 0
    out = Path(out) if out is not None else None
    if resume:
        if out is None or not (out / "checkpoint.pt").exists():
            raise CheckpointError(f"nothing to resume: no checkpoint.pt in {out}")
        checkpoint = load_checkpoint(out / "checkpoint.pt")
        load_model_state(model, checkpoint["model"], out / "checkpoint.pt")
        optimizer.load_state_dict(checkpoint["optimizer"])
        scheduler.load_state_dict(checkpoint["scheduler"])
        if scaler is not None and checkpoint.get("scaler"):
            scaler.load_state_dict(checkpoint["scaler"])
        history, start = checkpoint["history"], checkpoint["epoch"] + 1
        restore_rng_states(checkpoint["rng"])
    if world > 1 and device.type == "cuda":  # SyncBatchNorm is GPU-only; on CPU each process uses its own statistics
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    network = nn.parallel.DistributedDataParallel(model) if world > 1 else model
    for epoch in range(start, config.epochs):
        if hasattr(train_set, "set_epoch"):
            train_set.set_epoch(epoch)
        loader = _distributed_loader(train_set, config.batch_size // world, config.workers, True, config.seed, epoch,
                                     pin_memory=pins_memory(device))
        record = {"epoch": epoch + 1, "lr": optimizer.param_groups[0]["lr"]}
        trained = train_one_epoch(
            network, loader, optimizer, config, device, scaler, f"epoch {epoch + 1}/{config.epochs}"
        )
        record.update({f"train_{key}": value for key, value in trained.items()})
        record.update(prompt_parameters(network))
        scheduler.step()
        if val_set is not None:
            metrics = evaluate(
                network, val_set, config.eval_batch_size or config.batch_size, config.workers, device, "val"
            )
            record.update({f"val_{key}": value for key, value in metrics.items()
                           if key not in ("confusion", "count", "correct")})
        history.append(record)
        if out is not None and rank == 0:
            save_checkpoint(
                out / "checkpoint.pt",
                model=model.state_dict(),
                optimizer=optimizer.state_dict(),
                scheduler=scheduler.state_dict(),
                scaler=scaler.state_dict() if scaler else {},
                epoch=epoch,
                history=history,
                config=dataclasses.asdict(config),
                model_args=model_args or {},
            )
            atomic_write_json(out / "history.json", history)
        if dist.is_initialized():
            dist.barrier()
        if early_stopping is not None and early_stopping.update(epoch + 1, record[early_stopping.metric], model):
            break
    if early_stopping is not None:
        early_stopping.restore(model)
    return history


def model_args_of(model: nn.Module, train_set: Dataset | None = None) -> dict:
    """What a checkpoint records to rebuild ``model``: its :attr:`~vmp.models.PromptedModel.rebuild_args`
    and the training data's class names; empty for a model put together around a given backbone
    (:func:`vmp.models.with_motion_prompt`), which only its own code can rebuild."""
    model = _unwrap(model)
    if getattr(model, "built_from", None) is None:
        return {}
    classes = getattr(train_set, "classes", None)
    return {**model.rebuild_args, **({"classes": list(classes)} if classes is not None else {})}


def load_trained(path: str | os.PathLike) -> tuple[PromptedModel, dict[str, Any]]:
    """Rebuild the model a checkpoint was trained as, with its weights; returns (model, checkpoint)."""
    from vmp.models import build_model

    checkpoint = load_checkpoint(path)
    args = checkpoint.get("model_args") or {}
    if "name" not in args:
        raise CheckpointError(f"checkpoint {path} does not record how to build its model (model_args): it was "
                              "trained as a model put together by hand (with_motion_prompt); build it the same way "
                              "and load checkpoint['model'] into it")
    # class names are for checking data; "weights" says where the trained weights started (all in the checkpoint now)
    build_args = {key: value for key, value in args.items() if key not in ("classes", "weights")}
    model = build_model(**build_args, weights=None)
    load_model_state(model, checkpoint["model"], path)
    return model, checkpoint
