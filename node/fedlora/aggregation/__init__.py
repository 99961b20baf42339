"""Pure, deterministic aggregation of LoRA adapters (CPU, float64 accumulation, id order)."""

from fedlora.aggregation.aggregate import (
    AggregateResult,
    ClientUpdate,
    aggregate,
    is_lora_a,
    weighted_mean,
)
from fedlora.aggregation.server_opt import apply_server_optimizer, state_keys
from fedlora.aggregation.strategy import (
    FEDLORA_DEFAULT,
    LORA_MODES,
    SERVER_OPTIMIZERS,
    STRATEGIES,
    StrategyConfig,
    strategy_from_name,
)
from fedlora.aggregation.validate import AdapterMismatchError, validate_update
from fedlora.aggregation.weights import check_report, client_weights
from fedlora.artifacts.codec import Tensors

__all__ = [
    "FEDLORA_DEFAULT",
    "LORA_MODES",
    "SERVER_OPTIMIZERS",
    "STRATEGIES",
    "AdapterMismatchError",
    "AggregateResult",
    "ClientUpdate",
    "StrategyConfig",
    "Tensors",
    "aggregate",
    "apply_server_optimizer",
    "check_report",
    "client_weights",
    "is_lora_a",
    "state_keys",
    "strategy_from_name",
    "validate_update",
    "weighted_mean",
]
