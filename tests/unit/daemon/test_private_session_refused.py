"""Until DP training exists, a node refuses a session with a privacy budget before it trains."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from types import SimpleNamespace

import msgspec
import pytest
from tests.unit.daemon.fake_ledger import make_session

from fedlora.daemon import service
from fedlora.errors import FedloraError
from fedlora.ledger import Privacy

BUDGET = Privacy(epsilon=8.0, delta=1e-5, noise_multiplier=0.9, clip_norm=1.0)


def test_run_node_refuses_a_private_session_in_one_line_before_loading_data(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    session = msgspec.structs.replace(
        make_session("dp1", ["Org1MSP/a", "Org2MSP/b"], 2, 2), privacy=BUDGET
    )
    contract = SimpleNamespace(get_session=lambda session_id: session)
    monkeypatch.setattr(service, "open_contract", lambda config: (nullcontext(), contract, "n"))

    def no_training(*args: object) -> None:
        raise AssertionError("the node loaded its data for a session it must refuse")

    monkeypatch.setattr(service, "load_local_data", no_training)
    config = SimpleNamespace(training=None, data_dir=Path("unused"))
    with pytest.raises(FedloraError) as refused:
        service.run_node(config, "dp1")  # type: ignore[arg-type]
    message = str(refused.value)
    assert message.startswith("this node cannot train with differential privacy yet")
    assert "session dp1 has a privacy budget (epsilon 8)" in message
    assert "\n" not in message


def test_a_session_without_a_budget_passes_the_check() -> None:
    service.refuse_private_session(make_session("plain", ["Org1MSP/a", "Org2MSP/b"], 2, 2))
