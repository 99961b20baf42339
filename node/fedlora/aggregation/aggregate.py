"""Aggregate client LoRA adapters into the next global adapter, bit for bit reproducibly.

Every participant recomputes the aggregate and compares SHA-256 hashes, so the result must be
the same bits on any CPU: clients are processed in sorted id order, sums are accumulated in
float64 with separate (never fused) multiply and add steps, and the result is cast back to
the global adapter's dtype once at the end.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from fedlora.aggregation.robust import capped_counts, clip_factors, clipped, delta_norm
from fedlora.aggregation.server_opt import apply_server_optimizer
from fedlora.aggregation.strategy import StrategyConfig
from fedlora.aggregation.validate import AdapterMismatchError, validate_update
from fedlora.aggregation.weights import client_weights
from fedlora.artifacts.codec import Tensors
from fedlora.errors import FedloraError


@dataclass(frozen=True)
class ClientUpdate:
    """One client's adapter after local training, with what it reports about it."""

    client_id: str
    tensors: Tensors
    num_examples: int
    loss: float


@dataclass(frozen=True)
class AggregateResult:
    """The next global adapter, the server-optimizer state to hand on, and the client weights."""

    tensors: Tensors
    server_state: Tensors
    weights: dict[str, float]
    # The factor (<= 1) each client's change was scaled by (empty when clipping is off).
    clip_factors: dict[str, float] = field(default_factory=dict)


def is_lora_a(name: str) -> bool:
    """Return True for the down-projection factors that FFA-LoRA keeps frozen."""
    return ".lora_A." in name or "lora_embedding_A" in name


def _aggregated_names(global_tensors: Tensors, config: StrategyConfig) -> list[str]:
    if config.lora_mode == "fedit":
        return sorted(global_tensors)
    return sorted(name for name in global_tensors if not is_lora_a(name))


def _check_frozen_a(global_tensors: Tensors, update: ClientUpdate) -> None:
    for name in sorted(global_tensors):
        if is_lora_a(name) and not torch.equal(update.tensors[name], global_tensors[name]):
            raise AdapterMismatchError(
                f"client {update.client_id!r} changed the frozen tensor {name!r}",
                "in FFA mode lora_A must stay at the shared initialisation: freeze it locally",
            )


def _ordered_updates(
    global_tensors: Tensors, updates: Sequence[ClientUpdate]
) -> list[ClientUpdate]:
    if not updates:
        raise FedloraError("no client updates to aggregate", "wait for at least one update")
    ordered = sorted(updates, key=lambda update: update.client_id)
    for update in ordered:
        try:
            validate_update(global_tensors, update.tensors, max_norm=math.inf)
        except AdapterMismatchError as error:
            raise AdapterMismatchError(
                f"client {update.client_id!r}: {error.what}", error.hint
            ) from None
    return ordered


def _clipped_updates(
    ordered: Sequence[ClientUpdate], global64: Tensors, names: Sequence[str], clip_norm: float
) -> tuple[list[Tensors], dict[str, float]]:
    """Each update's tensors, its change scaled down to ``clip_norm`` x the median change."""
    if clip_norm <= 0:
        return [update.tensors for update in ordered], {}
    norms = [delta_norm(update.tensors, global64, names) for update in ordered]
    factors = clip_factors(norms, clip_norm)
    sources = [
        clipped(update.tensors, global64, names, factor)
        for update, factor in zip(ordered, factors, strict=True)
    ]
    return sources, {u.client_id: f for u, f in zip(ordered, factors, strict=True)}


def weighted_mean(tensors: Sequence[torch.Tensor], weights: Sequence[float]) -> torch.Tensor:
    """Return ``sum(w_k * t_k)`` in float64, accumulated in the given order.

    Parameters
    ----------
    tensors : sequence of torch.Tensor
        Same-shape tensors, any floating dtype.
    weights : sequence of float
        One weight per tensor (normally summing to 1).
    """
    total = torch.zeros(tensors[0].shape, dtype=torch.float64)
    for tensor, weight in zip(tensors, weights, strict=True):
        # Separate multiply and add: a fused multiply-add would round differently on some CPUs.
        total = total + tensor.detach().to("cpu", torch.float64) * weight
    return total


def aggregate(
    global_tensors: Tensors,
    updates: Sequence[ClientUpdate],
    config: StrategyConfig,
    server_state: Tensors | None = None,
) -> AggregateResult:
    """Combine client updates into the next global adapter.

    Parameters
    ----------
    global_tensors : dict[str, torch.Tensor]
        The adapter every client started this round from.
    updates : sequence of ClientUpdate
        One per client, in any order (they are sorted by client id).
    config : StrategyConfig
        LoRA mode (fedit / ffa), fairness exponent and server optimizer.
    server_state : dict[str, torch.Tensor], optional
        Optimizer state from the previous round's aggregate (None starts from zeros).

    Returns
    -------
    AggregateResult
        New adapter (global dtypes, CPU), new server state (float64), weights by client id.

    Raises
    ------
    AdapterMismatchError
        When an update does not fit the global adapter, or changed lora_A in FFA mode.
    FedloraError
        For no updates, duplicate ids, invalid example counts or losses.
    """
    ordered = _ordered_updates(global_tensors, updates)
    weights = client_weights(
        [update.client_id for update in ordered],
        capped_counts([update.num_examples for update in ordered], config.examples_cap),
        [update.loss for update in ordered],
        config.fairness_q,
    )
    if config.lora_mode == "ffa":
        for update in ordered:
            _check_frozen_a(global_tensors, update)
    names = _aggregated_names(global_tensors, config)
    global64 = {name: global_tensors[name].detach().to("cpu", torch.float64) for name in names}
    sources, factors = _clipped_updates(ordered, global64, names, config.clip_norm)
    weight_list = [weights[update.client_id] for update in ordered]
    average = {
        name: weighted_mean([source[name] for source in sources], weight_list) for name in names
    }
    new_values, new_state = apply_server_optimizer(config, global64, average, server_state)
    result: Tensors = {}
    for name in sorted(global_tensors):
        source = new_values.get(name)
        template = global_tensors[name]
        result[name] = (
            template.detach().to("cpu").clone()
            if source is None
            else source.to(template.dtype).contiguous()
        )
    return AggregateResult(result, new_state, weights, factors)
