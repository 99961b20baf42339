"""Resuming: a saved run is reused only when its method is exactly the one asked for."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

import fedlora.simulation.experiment as experiment
from fedlora.aggregation import strategy_from_name
from fedlora.data import ClientData, Example, FederatedData
from fedlora.errors import FedloraError
from fedlora.simulation.config import MethodSpec, SimulationConfig

ONE_SITE = FederatedData(
    corpus="c",
    instruction="i",
    label_names=("a",),
    clients=(ClientData("s", train=(Example("x", 0),), test=(Example("y", 0),)),),
    global_test=(),
)


def fake_run(calls: list[str]) -> Any:
    def run(context: Any, spec: MethodSpec) -> dict[str, Any]:
        calls.append(spec.label)
        return {"method": spec.describe(), "seed": context.seed, "final": {}}

    return run


def test_a_changed_preset_under_the_same_name_is_run_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(experiment, "run_method", fake_run(calls))
    monkeypatch.setattr(experiment, "load_federated_data", lambda config, seed: ONE_SITE)
    config = SimulationConfig(model="tiny")
    old = MethodSpec("fedlora", strategy_from_name("fedlora", fairness_q=3.0))
    new = MethodSpec("fedlora", strategy_from_name("fedlora", fairness_q=1.0))
    experiment.run_experiment(config, [old], [0], tmp_path)
    experiment.run_experiment(config, [old], [0], tmp_path)  # identical: reused
    assert calls == ["fedlora"]
    outcomes = experiment.run_experiment(config, [new], [0], tmp_path)
    assert calls == ["fedlora", "fedlora"]  # same name, other parameters: not reused
    assert outcomes[0].result["method"]["strategy"]["fairness_q"] == 1.0


def test_the_test_draw_changes_the_digest_only_when_not_the_default() -> None:
    # Result files written before the option existed keep their names (and are resumed).
    fields = dataclasses.asdict(SimulationConfig())
    later = ("dp_epsilon", "dp_noise_multiplier", "dp_delta", "dp_clip_norm")  # also unused
    defaults = ("personalize_steps", "leave_one_out", "test_draw", "validation_per_site")
    for name in (*defaults, *later):
        del fields[name]
    before = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:10]
    assert SimulationConfig().digest() == before
    assert SimulationConfig(test_draw="spread").digest() != before
    with pytest.raises(FedloraError, match="unknown test draw 'few'"):
        SimulationConfig(test_draw="few")
