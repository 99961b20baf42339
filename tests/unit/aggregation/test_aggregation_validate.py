"""Update validation and the strategy presets."""

from __future__ import annotations

import math

import pytest
import torch

from fedlora.aggregation import (
    STRATEGIES,
    AdapterMismatchError,
    StrategyConfig,
    strategy_from_name,
    validate_update,
)
from fedlora.errors import FedloraError


def _reference() -> dict[str, torch.Tensor]:
    return {"a.lora_A.weight": torch.zeros(2, 4), "a.lora_B.weight": torch.zeros(4, 2)}


def test_a_matching_update_passes() -> None:
    candidate = {name: torch.ones_like(t) for name, t in _reference().items()}
    validate_update(_reference(), candidate)


def _with(name: str, value: torch.Tensor) -> dict[str, torch.Tensor]:
    candidate = {key: torch.ones_like(t) for key, t in _reference().items()}
    candidate[name] = value
    return candidate


@pytest.mark.parametrize(
    ("candidate", "problem"),
    [
        ({"a.lora_A.weight": torch.zeros(2, 4)}, "1 missing"),
        (_with("extra.lora_A.weight", torch.zeros(1)), "1 unexpected"),
        (_with("a.lora_A.weight", torch.zeros(4, 2)), "shape"),
        (_with("a.lora_A.weight", torch.zeros(2, 4, dtype=torch.float16)), "dtype"),
        (_with("a.lora_B.weight", torch.full((4, 2), math.nan)), "NaN or Inf"),
        (_with("a.lora_B.weight", torch.full((4, 2), math.inf)), "NaN or Inf"),
        (_with("a.lora_B.weight", torch.full((4, 2), 1e5)), "norm"),
        ({}, "no tensors"),
    ],
)
def test_malformed_updates_are_refused(candidate: dict[str, torch.Tensor], problem: str) -> None:
    with pytest.raises(AdapterMismatchError, match=problem):
        validate_update(_reference(), candidate)


def test_the_norm_limit_is_the_whole_adapter_norm() -> None:
    # 16 entries of 1.0: L2 norm 4.
    candidate = {name: torch.ones_like(t) for name, t in _reference().items()}
    validate_update(_reference(), candidate, max_norm=4.0)
    with pytest.raises(AdapterMismatchError, match="norm"):
        validate_update(_reference(), candidate, max_norm=3.99)


def test_fedavg_preset_is_plain_fedit() -> None:
    fedavg = STRATEGIES["fedavg"]
    assert (fedavg.lora_mode, fedavg.server_optimizer) == ("fedit", "none")
    assert fedavg.fairness_q == 0 and fedavg.proximal_mu == 0 and fedavg.server_lr == 1.0


def test_fedlora_preset_is_the_measured_one_server_momentum_and_drift_control() -> None:
    fedlora = STRATEGIES["fedlora"]
    assert fedlora.lora_mode == "fedit"  # FFA is an option; it learned too slowly as default
    assert (fedlora.server_optimizer, fedlora.momentum) == ("avgm", 0.5)
    assert fedlora.proximal_mu == 0.01
    assert fedlora.fairness_q == 0  # loss weights lowered the worst site (docs/results.md)


def test_overrides_replace_fields_and_keep_the_preset() -> None:
    config = strategy_from_name("fedlora", fairness_q=1.0)
    assert config.fairness_q == 1.0
    assert config.lora_mode == STRATEGIES["fedlora"].lora_mode
    assert config.server_optimizer == STRATEGIES["fedlora"].server_optimizer


@pytest.mark.parametrize(
    ("name", "overrides", "problem"),
    [
        ("fedsgd", {}, "unknown strategy"),
        ("fedavg", {"learning_rate": 1.0}, "unknown strategy field"),
        ("fedavg", {"lora_mode": "flora"}, "lora_mode"),
        ("fedavg", {"server_optimizer": "yogi"}, "server_optimizer"),
        ("fedavg", {"server_lr": 0.0}, "server_lr"),
        ("fedavg", {"momentum": 1.5}, "momentum"),
        ("fedavg", {"fairness_q": -1.0}, "fairness_q"),
        ("fedavg", {"eps": float("nan")}, "eps"),
    ],
)
def test_bad_strategy_requests_are_refused(
    name: str, overrides: dict[str, object], problem: str
) -> None:
    with pytest.raises(FedloraError, match=problem):
        strategy_from_name(name, **overrides)


def test_describe_lists_every_field_as_text() -> None:
    described = StrategyConfig(name="x", lora_mode="ffa", server_optimizer="adam").describe()
    assert described["lora_mode"] == "ffa" and described["beta2"] == "0.99"


def test_numbers_written_as_text_are_accepted_as_recorded_on_the_ledger() -> None:
    described = strategy_from_name("fedlora").describe()
    rebuilt = strategy_from_name(
        described["name"], **{k: v for k, v in described.items() if k != "name"}
    )
    assert rebuilt == STRATEGIES["fedlora"]
    with pytest.raises(FedloraError, match="not a number"):
        strategy_from_name("fedavg", momentum="lots")
    with pytest.raises(FedloraError, match="not a number"):
        strategy_from_name("fedavg", fairness_q=True)
