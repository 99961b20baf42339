"""`fedlora session create --dp-*` sends a privacy budget; `session status` shows its ledger."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from fedlora.cli import session as session_cli
from fedlora.cli.app import app
from fedlora.errors import FedloraError
from fedlora.ledger import Privacy, SessionSpec

DP = ["--dp-epsilon", "8", "--dp-delta", "1e-5", "--dp-noise-multiplier", "0.9"]


class FakeContract:
    """Records the spec CreateSession would get and answers like the chain."""

    def __init__(self) -> None:
        self.specs: list[SessionSpec] = []

    def create_session(self, spec: SessionSpec) -> Any:
        self.specs.append(spec)
        return SimpleNamespace(
            session_id=spec.session_id, status="open", current_round=0, rounds=spec.rounds,
            rule_name=spec.rule.name, quorum=spec.quorum, participants=(), privacy=spec.privacy,
        )  # fmt: skip


@pytest.fixture
def contract(monkeypatch: pytest.MonkeyPatch) -> FakeContract:
    import fedlora.daemon.local_training as local_training

    fake = FakeContract()

    class Gateway:
        def __enter__(self) -> None:
            return None

        def __exit__(self, *args: object) -> None:
            return None

    monkeypatch.setattr(local_training, "base_model_sha256", lambda model: "a" * 64)
    monkeypatch.setattr(session_cli, "load_node_config", lambda path: None)
    monkeypatch.setattr(
        session_cli, "_open_contract", lambda: lambda config, admin=None: (Gateway(), fake, "n")
    )
    return fake


def create(*options: str) -> Any:
    args = ["session", "create", "--id", "dp1", "--config", str(Path("node.toml")), *options]
    return CliRunner().invoke(app, args)


def test_the_four_dp_options_make_the_sessions_budget(contract: FakeContract) -> None:
    result = create(*DP, "--dp-clip-norm", "1.0")
    assert result.exit_code == 0, result.output
    assert contract.specs[0].privacy == Privacy(
        epsilon=8.0, delta=1e-5, noise_multiplier=0.9, clip_norm=1.0
    )
    assert "privacy budget: epsilon 8 per node at delta 1e-05" in result.output


def test_without_dp_options_the_session_has_no_budget(contract: FakeContract) -> None:
    result = create()
    assert result.exit_code == 0, result.output
    assert contract.specs[0].privacy is None
    assert "privacy" not in result.output


def test_some_dp_options_without_the_others_are_refused(contract: FakeContract) -> None:
    result = create(*DP)
    assert result.exit_code == 2
    assert "missing --dp-clip-norm" in result.output
    assert contract.specs == []


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ((0.0, 1e-5, 1.0, 1.0), "--dp-epsilon"),
        ((8.0, 1.0, 1.0, 1.0), "--dp-delta"),
        ((8.0, 1e-5, math.nan, 1.0), "--dp-noise-multiplier"),
        ((8.0, 1e-5, 1.0, -1.0), "--dp-clip-norm"),
        ((math.inf, 1e-5, 1.0, 1.0), "--dp-epsilon"),
    ],
)
def test_an_invalid_budget_is_refused_before_the_chain(
    values: tuple[float, float, float, float], named: str
) -> None:
    with pytest.raises(FedloraError, match=named):
        session_cli.privacy_budget(*values)


def test_the_privacy_ledger_shows_each_nodes_spent_epsilon_per_round() -> None:
    def update(spent: float) -> Any:
        return SimpleNamespace(epsilon_spent=spent)

    rounds = [
        SimpleNamespace(round=1, updates={"Org1MSP/a": update(1.5), "Org2MSP/b": update(2.0)}),
        SimpleNamespace(round=2, updates={"Org1MSP/a": update(2.75)}),
    ]
    console = Console(record=True, width=200)
    console.print(session_cli.privacy_table(("Org1MSP/a", "Org2MSP/b"), rounds))
    lines = console.export_text().splitlines()
    row_a = next(line for line in lines if "Org1MSP/a" in line)
    row_b = next(line for line in lines if "Org2MSP/b" in line)
    assert row_a.split()[2:] == ["│", "1.5", "│", "2.75", "│"]
    assert row_b.split()[2:] == ["│", "2", "│", "-", "│"]
