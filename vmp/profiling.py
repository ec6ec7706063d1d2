"""Exact peak-memory accounting for tensor code on any device, CPU included.

``torch.cuda.max_memory_allocated`` exists only on CUDA. Here a dispatch mode sees every
tensor an operator creates, counts the bytes of each new storage, and a weak reference on the
storage subtracts them the moment it is freed. The count is deterministic, so a test may assert it.
"""

from __future__ import annotations

import weakref
from typing import Any, Callable

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten


class _StorageLedger(TorchDispatchMode):
    """Running and peak bytes of the storages created while the mode is active."""

    def __init__(self) -> None:
        super().__init__()
        self.live: dict[int, int] = {}
        self.current = 0
        self.peak = 0

    def _release(self, key: int) -> None:
        self.current -= self.live.pop(key, 0)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None) -> Any:  # noqa: ANN001 - torch's signature
        result = func(*args, **(kwargs or {}))
        inputs = {
            value.untyped_storage().data_ptr()
            for value in tree_flatten((args, kwargs))[0]
            if isinstance(value, torch.Tensor)
        }
        for value in tree_flatten(result)[0]:
            if isinstance(value, torch.Tensor):
                storage = value.untyped_storage()
                key = storage.data_ptr()
                if key in inputs or key in self.live or storage.nbytes() == 0:
                    continue  # a view or an in-place result: no new memory
                self.live[key] = storage.nbytes()
                self.current += storage.nbytes()
                self.peak = max(self.peak, self.current)
                weakref.finalize(storage, self._release, key)
        return result


def peak_allocated_bytes(fn: Callable[[], Any]) -> tuple[int, Any]:
    """Run ``fn()`` and return (peak bytes it held at once, its result).

    Counts every tensor storage ``fn`` allocates, outputs and autograd's saved tensors included,
    and nothing allocated before it.
    """
    ledger = _StorageLedger()
    with ledger:
        result = fn()
    return ledger.peak, result
