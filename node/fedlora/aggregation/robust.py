"""Bounds on what one client can do to the aggregate, relative to the round's median client.

A participant reports its own example count and trains its own update, so on their own
example-weighted averages let one liar dominate: a huge declared count takes all the weight,
a huge update moves the model wherever it points. Both are bounded here relative to the round's
median client, which an honest majority determines:

- a declared example count is capped at ``examples_cap`` times the median declared count;
- an update's change to the adapter (its delta from the global adapter) is scaled down to at
  most ``clip_norm`` times the median delta norm (norm clipping, as in robust FL and DP-FedAvg).

Both are pure and bit-for-bit reproducible: norms are sums of squares taken with ``math.fsum``,
which is exactly rounded and so independent of summation order and thread count.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

import torch

from fedlora.artifacts.codec import Tensors


def capped_counts(counts: Sequence[int], examples_cap: float) -> list[int]:
    """Each count capped at ``examples_cap`` times the median count (0: no cap)."""
    if examples_cap <= 0 or not counts:
        return list(counts)
    cap = max(1, math.floor(examples_cap * statistics.median(counts)))
    return [min(count, cap) for count in counts]


def delta_norm(update: Tensors, reference: Tensors, names: Sequence[str]) -> float:
    """L2 norm of ``update - reference`` over ``names``, exactly rounded."""
    squares: list[float] = []
    for name in names:
        delta = update[name].detach().to("cpu", torch.float64) - reference[name]
        squares.append(math.fsum(delta.square().flatten().tolist()))
    return math.sqrt(math.fsum(squares))


def clip_factors(norms: Sequence[float], clip_norm: float) -> list[float]:
    """Per client, the factor in (0, 1] that brings its norm down to ``clip_norm`` x median."""
    if clip_norm <= 0 or not norms:
        return [1.0] * len(norms)
    bound = clip_norm * statistics.median(norms)
    return [1.0 if norm <= bound or norm == 0.0 else bound / norm for norm in norms]


def clipped(update: Tensors, reference: Tensors, names: Sequence[str], factor: float) -> Tensors:
    """``reference + factor * (update - reference)`` over ``names``, in float64."""
    if factor == 1.0:
        return {name: update[name] for name in names}
    result: Tensors = {}
    for name in names:
        delta = update[name].detach().to("cpu", torch.float64) - reference[name]
        result[name] = reference[name] + delta * factor  # separate multiply and add, no FMA
    return result
