"""A node whose peer or orderer is briefly down waits and reads the chain again; it never stops.

The errors are the ledger client's own, as a Fabric 2.5 Gateway reports them: a stopped peer
refuses connections (UNAVAILABLE on evaluate and endorse, after the client's retries), a
stopped orderer makes the Gateway's Submit fail with UNAVAILABLE "no orderers could
successfully process transaction", and a transaction lost with the orderer never reports a
commit status (DEADLINE_EXCEEDED).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import grpc
import pytest
from tests.unit.daemon.fake_ledger import NodeView
from tests.unit.daemon.test_coordinator import build, run_all

from fedlora.artifacts import ContentStore
from fedlora.daemon.coordinator import Coordinator
from fedlora.daemon.decide import Action
from fedlora.ledger.errors import (
    CommitError,
    CommitStatusError,
    EndorseError,
    ErrorDetail,
    EvaluateError,
    SubmitError,
)
from fedlora.ledger.records import ProposalDraft, Round, Session

ORDERER_DOWN = "no orderers could successfully process transaction"
T = TypeVar("T")


class OutageView:
    """A node's view of the in-memory chain that fails the way Fabric does while cut off.

    ``peer_down`` fails every call; ``orderer_down`` fails writes only; ``lookups_down`` fails
    endpoint look-ups with a timeout. With
    ``commit_lost_after_order`` the next write reaches the chain but its commit status never
    arrives, as when the orderer dies after accepting a transaction it goes on to order.
    """

    def __init__(self, view: NodeView) -> None:
        self.view = view
        self.peer_down = self.orderer_down = self.commit_lost_after_order = False
        self.lookups_down = False
        self.failures = 0

    def get_session(self, session_id: str) -> Session:
        return self._read("GetSession", lambda: self.view.get_session(session_id))

    def get_round(self, session_id: str, round_number: int) -> Round:
        return self._read("GetRound", lambda: self.view.get_round(session_id, round_number))

    def node_endpoint(self, node_id: str) -> str:
        if self.lookups_down:  # the query timed out; the in-memory chain records no endpoints
            raise EvaluateError("GetNode", grpc.StatusCode.DEADLINE_EXCEEDED, "evaluate timeout")
        return f"{node_id}.example:7000"

    def submit_update(
        self,
        session_id: str,
        number: int,
        sha: str,
        n: int,
        metrics: Mapping[str, float],
        epsilon_spent: float | None = None,
    ) -> None:
        view = self.view
        self._write(
            "SubmitUpdate",
            lambda: view.submit_update(session_id, number, sha, n, metrics, epsilon_spent),
        )

    def propose_aggregate(self, session_id: str, number: int, draft: ProposalDraft) -> None:
        view = self.view
        self._write("ProposeAggregate", lambda: view.propose_aggregate(session_id, number, draft))

    def endorse_aggregate(
        self, session_id: str, number: int, sha: str, accept: bool, reason: str
    ) -> None:
        view = self.view
        self._write(
            "EndorseAggregate",
            lambda: view.endorse_aggregate(session_id, number, sha, accept, reason),
        )

    def report_timeout(self, session_id: str, number: int) -> None:
        self._write("ReportTimeout", lambda: self.view.report_timeout(session_id, number))

    def _read(self, operation: str, call: Callable[[], T]) -> T:
        if self.peer_down:
            self.failures += 1
            raise EvaluateError(operation, grpc.StatusCode.UNAVAILABLE, "connection refused")
        return call()

    def _write(self, operation: str, call: Callable[[], None]) -> None:
        if self.peer_down:
            self.failures += 1
            raise EndorseError(operation, grpc.StatusCode.UNAVAILABLE, "connection refused")
        if self.orderer_down:
            self.failures += 1
            raise SubmitError(operation, grpc.StatusCode.UNAVAILABLE, ORDERER_DOWN)
        call()
        if self.commit_lost_after_order:
            self.commit_lost_after_order = False
            raise CommitStatusError(operation, grpc.StatusCode.DEADLINE_EXCEEDED, "deadline")


def _cut_off(coordinators: list[Coordinator], index: int) -> OutageView:
    """Route node ``index``'s ledger calls (its coordinator's and its executor's) via an outage."""
    coordinator = coordinators[index]
    outage = OutageView(coordinator._ledger)  # type: ignore[attr-defined]
    coordinator._ledger = outage  # type: ignore[attr-defined]
    coordinator._executor._ledger = outage  # type: ignore[attr-defined]
    return outage


def test_a_node_whose_orderer_is_down_waits_then_submits_its_update_without_training_again(
    tmp_path: Path,
) -> None:
    chain, _, trainers, coordinators = build(tmp_path, quorum=2, rounds=2)
    outage = _cut_off(coordinators, 0)
    outage.orderer_down = True

    waited = coordinators[0].step()

    assert waited.action is Action.WAIT and "ledger unreachable" in waited.detail
    assert waited.round_number == 1 and outage.failures == 1
    assert trainers[coordinators[0].node_id].calls == 1  # trained, recorded, not submitted
    assert coordinators[0].node_id not in chain.rounds[1].updates
    assert coordinators[0].step().action is Action.WAIT  # still down: still waiting

    outage.orderer_down = False
    run_all(coordinators)

    assert chain.session.status == "completed"
    assert trainers[coordinators[0].node_id].calls == 2  # once per round: the retry resubmitted
    assert chain.log.count(("submit", coordinators[0].node_id, 1)) == 1


def test_a_node_whose_gateway_peer_is_down_waits_while_the_others_finish_the_round(
    tmp_path: Path,
) -> None:
    chain, _, _, coordinators = build(tmp_path, quorum=2, rounds=2)
    for coordinator in coordinators:
        coordinator.step()  # every update is in
    index = next(i for i, c in enumerate(coordinators) if c.node_id != chain.rounds[1].aggregator)
    others = [c for i, c in enumerate(coordinators) if i != index]
    outage = _cut_off(coordinators, index)
    outage.peer_down = True

    for _ in range(4):  # the aggregator and the other endorser make the quorum of two
        assert coordinators[index].step().action is Action.WAIT
        for coordinator in others:
            coordinator.step()
    assert chain.rounds[1].phase == "final" and chain.session.current_round == 2

    outage.peer_down = False
    run_all(coordinators)

    assert chain.session.status == "completed" and outage.failures >= 4
    assert coordinators[index].node_id in chain.rounds[2].updates  # back in for round 2


def test_an_aggregate_ordered_before_the_orderer_died_is_not_proposed_twice(
    tmp_path: Path,
) -> None:
    chain, _, _, coordinators = build(tmp_path, quorum=2, rounds=1)
    for coordinator in coordinators:
        coordinator.step()  # every update is in; the round waits for its aggregator
    aggregator = next(c for c in coordinators if c.node_id == chain.rounds[1].aggregator)
    outage = _cut_off(coordinators, coordinators.index(aggregator))
    outage.commit_lost_after_order = True

    assert aggregator.step().action is Action.WAIT  # commit status unknown: read the chain again

    assert chain.rounds[1].phase == "endorsing"  # the proposal was ordered all the same
    assert aggregator.step().action is Action.WAIT  # the chain says: nothing left to do here
    run_all(coordinators)
    assert chain.session.status == "completed"
    assert chain.log.count(("propose", aggregator.node_id, 1)) == 1


class LookupFetcher:
    """Looks the holder's endpoint up on chain before fetching, as the daemon's PeerFetcher does."""

    def __init__(self, ledger: OutageView, inner: Any) -> None:
        self.ledger, self.inner = ledger, inner

    def fetch(self, node_id: str, sha256: str, deadline_s: float | None = None) -> bytes:
        self.ledger.node_endpoint(node_id)
        return bytes(self.inner.fetch(node_id, sha256))


def test_an_endorser_that_cannot_look_up_the_aggregator_waits_instead_of_rejecting(
    tmp_path: Path,
) -> None:
    chain, _, _, coordinators = build(tmp_path, quorum=3, rounds=1)
    for _ in range(2):  # everyone submits, then the aggregator proposes
        for coordinator in coordinators:
            coordinator.step()
    assert chain.rounds[1].phase == "endorsing"
    endorser = next(c for c in coordinators if c.node_id != chain.rounds[1].aggregator)
    outage = _cut_off(coordinators, coordinators.index(endorser))
    executor = endorser._executor  # type: ignore[attr-defined]
    executor._fetcher = LookupFetcher(outage, executor._fetcher)
    executor._store = ContentStore(tmp_path / "empty")  # as if it had prefetched nothing
    outage.lookups_down = True

    assert endorser.step().action is Action.WAIT

    assert endorser.node_id not in chain.rounds[1].endorsements  # no rejection was recorded
    outage.lookups_down = False
    run_all(coordinators)
    assert chain.session.status == "completed"
    assert ("reject", endorser.node_id, 1) not in chain.log


def test_a_rejection_by_the_chaincode_still_stops_the_node(tmp_path: Path) -> None:
    _, _, _, coordinators = build(tmp_path, quorum=2, rounds=1)
    detail = ErrorDetail("peer0:7051", "Org1MSP", "chaincode response 500, [NOT_PARTICIPANT] no")
    refusal = EndorseError("SubmitUpdate", grpc.StatusCode.ABORTED, "failed", (detail,))

    def refuse(*_: object) -> None:
        raise refusal

    coordinators[0]._ledger.submit_update = refuse  # type: ignore[attr-defined]
    with pytest.raises(EndorseError, match=r"\[NOT_PARTICIPANT\]"):
        coordinators[0].step()


def test_a_submission_that_keeps_losing_the_race_for_the_round_waits_instead_of_exiting(
    tmp_path: Path,
) -> None:
    # Ten members writing one round: a submit can hit MVCC_READ_CONFLICT more often than the
    # client retries. The node reads the chain again and resubmits its recorded update.
    chain, _, trainers, coordinators = build(tmp_path, quorum=2, rounds=1)
    node = coordinators[0]
    view = node._ledger  # type: ignore[attr-defined]
    submit = view.submit_update
    conflicts = [2]

    def conflicting(*args: Any) -> None:
        if conflicts[0] > 0:
            conflicts[0] -= 1
            raise CommitError("SubmitUpdate", "tx1", 11, "MVCC_READ_CONFLICT", 7)
        submit(*args)

    view.submit_update = conflicting
    first = node.step()
    assert first.action is Action.WAIT and "ledger busy" in first.detail
    assert node.step().action is Action.WAIT
    run_all(coordinators)
    assert chain.session.status == "completed" and trainers[node.node_id].calls == 1
