"""Checks an update must pass before it is aggregated (aggregation assumes valid input)."""

from __future__ import annotations

import math

import torch

from fedlora.artifacts.codec import Tensors
from fedlora.errors import FedloraError


class AdapterMismatchError(FedloraError):
    """An update that does not fit the global adapter or holds absurd values."""


def _check_keys(reference: Tensors, candidate: Tensors) -> None:
    missing = sorted(set(reference) - set(candidate))
    extra = sorted(set(candidate) - set(reference))
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (first: {missing[0]!r})")
        if extra:
            parts.append(f"{len(extra)} unexpected (first: {extra[0]!r})")
        raise AdapterMismatchError(
            f"update tensor names differ from the global adapter: {'; '.join(parts)}",
            "the client trained a different LoRA config (rank, target modules, base model)",
        )


def _check_tensor(name: str, expected: torch.Tensor, actual: torch.Tensor) -> None:
    if not isinstance(actual, torch.Tensor):
        raise AdapterMismatchError(f"update entry {name!r} is not a tensor")
    if actual.shape != expected.shape:
        raise AdapterMismatchError(
            f"update tensor {name!r} has shape {tuple(actual.shape)}, "
            f"expected {tuple(expected.shape)}",
            "the client used a different LoRA rank or base model",
        )
    if actual.dtype != expected.dtype:
        raise AdapterMismatchError(
            f"update tensor {name!r} has dtype {actual.dtype}, expected {expected.dtype}",
            "send the adapter in the dtype of the global adapter",
        )
    if not bool(torch.isfinite(actual).all()):
        raise AdapterMismatchError(
            f"update tensor {name!r} contains NaN or Inf",
            "the local training diverged; lower its learning rate",
        )


def validate_update(reference: Tensors, candidate: Tensors, max_norm: float = 1e4) -> None:
    """Check that ``candidate`` fits ``reference``: names, shapes, dtypes, finiteness, norm.

    Parameters
    ----------
    reference : dict[str, torch.Tensor]
        The global adapter the update was trained from.
    candidate : dict[str, torch.Tensor]
        A client's adapter.
    max_norm : float
        Largest accepted L2 norm of the whole candidate (over all tensors, in float64).

    Raises
    ------
    AdapterMismatchError
        Naming the first problem found.
    """
    if not candidate:
        raise AdapterMismatchError("update holds no tensors", "send the whole adapter")
    _check_keys(reference, candidate)
    squared = 0.0
    for name in sorted(reference):
        _check_tensor(name, reference[name], candidate[name])
        squared += float(candidate[name].detach().to(torch.float64).square().sum())
    norm = math.sqrt(squared)
    if norm > max_norm:
        raise AdapterMismatchError(
            f"update L2 norm {norm:.3g} exceeds the limit {max_norm:.3g}",
            "the local training diverged or the update was tampered with",
        )
