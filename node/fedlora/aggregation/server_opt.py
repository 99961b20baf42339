"""Server optimizers on the pseudo-gradient delta = average - global (FedOpt, Reddi et al. 2021).

All arithmetic is float64 and uses only separate IEEE multiply, add, divide and sqrt steps
(no fused or in-place ``alpha=`` forms), which are correctly rounded everywhere, so every
participant recomputing an aggregate gets the same bits whatever its CPU.
"""

from __future__ import annotations

import torch

from fedlora.aggregation.strategy import StrategyConfig
from fedlora.aggregation.validate import AdapterMismatchError
from fedlora.artifacts.codec import Tensors

_STATE_PREFIXES = {"none": (), "avgm": ("avgm_v:",), "adam": ("adam_m:", "adam_v:")}


def state_keys(config: StrategyConfig, names: list[str]) -> list[str]:
    """Return the server-state tensor names the optimizer keeps for these adapter tensors."""
    return [prefix + name for prefix in _STATE_PREFIXES[config.server_optimizer] for name in names]


def _previous_state(
    config: StrategyConfig, average: Tensors, server_state: Tensors | None
) -> Tensors:
    names = sorted(average)
    wanted = state_keys(config, names)
    if not server_state:
        return {key: torch.zeros_like(average[key.split(":", 1)[1]]) for key in wanted}
    if sorted(server_state) != sorted(wanted):
        raise AdapterMismatchError(
            f"server state does not match the {config.server_optimizer!r} optimizer "
            f"({len(server_state)} tensors, expected {len(wanted)})",
            "pass the state produced by the previous round of this same strategy, or none",
        )
    state: Tensors = {}
    for key in wanted:
        expected = average[key.split(":", 1)[1]]
        tensor = server_state[key]
        if tensor.shape != expected.shape or not tensor.dtype.is_floating_point:
            raise AdapterMismatchError(
                f"server state tensor {key!r} has shape {tuple(tensor.shape)} / {tensor.dtype}",
                f"expected a floating-point tensor of shape {tuple(expected.shape)}",
            )
        state[key] = tensor.detach().to("cpu", torch.float64)
    return state


def apply_server_optimizer(
    config: StrategyConfig,
    global64: Tensors,
    average: Tensors,
    server_state: Tensors | None,
) -> tuple[Tensors, Tensors]:
    """Step the server optimizer for the averaged tensors.

    Parameters
    ----------
    config : StrategyConfig
        Names the optimizer and its hyper-parameters.
    global64 : dict[str, torch.Tensor]
        The current global values (float64) of the tensors being aggregated.
    average : dict[str, torch.Tensor]
        The weighted client average (float64) of the same tensors.
    server_state : dict[str, torch.Tensor] or None
        The previous round's state, or None/empty to start from zeros.

    Returns
    -------
    tuple of dict
        New float64 values of the tensors, and the new server state (float64).
    """
    previous = _previous_state(config, average, server_state)
    new_values: Tensors = {}
    new_state: Tensors = {}
    for name in sorted(average):
        new_values[name] = _step(config, name, global64[name], average[name], previous, new_state)
    return new_values, new_state


def _step(
    config: StrategyConfig,
    name: str,
    current: torch.Tensor,
    average: torch.Tensor,
    previous: Tensors,
    new_state: Tensors,
) -> torch.Tensor:
    """Return the new value of one tensor, recording its optimizer state in ``new_state``."""
    lr = config.server_lr
    delta = average - current
    if config.server_optimizer == "none":
        # With lr = 1 the average itself is returned, not current + (average - current).
        return average if lr == 1.0 else current + delta * lr
    if config.server_optimizer == "avgm":
        velocity = previous["avgm_v:" + name] * config.momentum + delta
        new_state["avgm_v:" + name] = velocity
        return current + velocity * lr
    first = previous["adam_m:" + name] * config.momentum + delta * (1.0 - config.momentum)
    second = previous["adam_v:" + name] * config.beta2 + (delta * delta) * (1.0 - config.beta2)
    new_state["adam_m:" + name] = first
    new_state["adam_v:" + name] = second
    return current + (first / (torch.sqrt(second) + config.eps)) * lr
