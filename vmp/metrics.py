"""Classification metrics from a confusion matrix: top-1, mean class accuracy, and top-k counts."""

from __future__ import annotations

import torch


def confusion_matrix(predictions: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """``(K, K)`` counts, rows the true class, columns the predicted one."""
    flat = labels.long() * num_classes + predictions.long()
    return torch.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def topk_correct(scores: torch.Tensor, labels: torch.Tensor, k: int) -> int:
    """How many labels are among the ``k`` highest scores (k is capped at the class count)."""
    k = min(k, scores.shape[1])
    return int((scores.topk(k, dim=1).indices == labels[:, None]).any(dim=1).sum())


def summarize(confusion: torch.Tensor, top5: int, loss_sum: float) -> dict:
    """top-1, top-5, mean class accuracy (over classes present) and mean loss, from summed counts."""
    total = int(confusion.sum())
    per_class = confusion.diag().float() / confusion.sum(dim=1).clamp(min=1).float()
    present = confusion.sum(dim=1) > 0
    return {
        "top1": float(confusion.diag().sum()) / total,
        "top5": top5 / total,
        "mean_class_accuracy": float(per_class[present].mean()),
        "loss": loss_sum / total,
        "count": total,
        "confusion": confusion.tolist(),
    }
