"""The end of a session: every participant leaves with the final adapter."""

from __future__ import annotations

from pathlib import Path

import torch
from tests.unit.daemon.test_coordinator import build
from tests.unit.daemon.test_faults import DeadNodes

from fedlora.daemon.decide import Action


def test_a_node_whose_verdict_was_not_needed_gets_the_final_adapter_after_the_aggregator_left(
    tmp_path: Path,
) -> None:
    chain, _, _, coordinators = build(tmp_path, quorum=2, rounds=1)
    for coordinator in coordinators:
        coordinator.step()  # every update is in
    aggregator = next(c for c in coordinators if c.node_id == chain.rounds[1].aggregator)
    endorser, laggard = (c for c in coordinators if c is not aggregator)
    aggregator.step()  # proposes
    assert endorser.step().action is Action.ENDORSE  # quorum of two: the session is complete
    assert chain.session.status == "completed"
    assert aggregator.step().action is Action.STOP  # and the aggregator's process exits
    executor = laggard._executor  # type: ignore[attr-defined]
    executor._fetcher = DeadNodes(executor._fetcher, {aggregator.node_id})

    assert laggard.step().action is Action.STOP

    assert laggard.final_adapter is not None and aggregator.final_adapter is not None
    for name, tensor in aggregator.final_adapter.items():
        assert torch.equal(laggard.final_adapter[name], tensor)  # fetched from the endorser
