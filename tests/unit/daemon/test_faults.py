"""Faults the round protocol must survive, injected into coordinators on an in-memory chain."""

from __future__ import annotations

import datetime as dt
import struct
from pathlib import Path

import pytest
import torch
from tests.unit.daemon.test_coordinator import NODES, FakeTrainer, StoreFetcher, build, run_all

from fedlora.artifacts import Tensors, encode_adapter
from fedlora.daemon.decide import Action
from fedlora.daemon.pending import RoundKey
from fedlora.daemon.ports import LocalUpdate
from fedlora.errors import FedloraError
from fedlora.ledger import AggregateInput, Round


class DeadNodes(StoreFetcher):
    """A fetcher for which some nodes are unreachable (killed)."""

    def __init__(self, inner: StoreFetcher, dead: set[str]) -> None:
        super().__init__(inner.stores)
        self.dead = dead

    def fetch(self, node_id: str, sha256: str, deadline_s: float | None = None) -> bytes:
        if node_id in self.dead:
            raise FedloraError(f"{node_id} is unreachable")
        return super().fetch(node_id, sha256)


def test_killed_aggregator_is_replaced_after_the_deadline(tmp_path: Path) -> None:
    chain, _, _, coordinators = build(tmp_path, quorum=2, rounds=1)
    for coordinator in coordinators:
        coordinator.step()  # everyone trains and submits
    dead = chain.rounds[1].aggregator
    alive = [c for c in coordinators if c.node_id != dead]
    for coordinator in alive:
        executor = coordinator._executor
        executor._fetcher = DeadNodes(executor._fetcher, {dead})  # type: ignore[attr-defined]
        assert coordinator.step().action is Action.WAIT  # before the deadline: wait
    chain.expire_deadline()
    assert alive[0].step().action is Action.REPORT_TIMEOUT
    successor = chain.rounds[1].aggregator
    assert successor != dead and chain.rounds[1].attempt == 1
    for _ in range(4):
        for coordinator in alive:
            coordinator.step()
    assert chain.session.status == "completed"
    used = _inputs(chain.rounds[1])
    # the updates of the nodes still alive are all in; only the dead node's own is missing
    assert used == set(NODES) - {dead}


def test_straggler_misses_the_deadline_and_its_late_update_is_refused(tmp_path: Path) -> None:
    chain, _, trainers, coordinators = build(tmp_path, quorum=2, rounds=1)
    straggler = next(c for c in coordinators if c.node_id != chain.rounds[1].aggregator)
    others = [c for c in coordinators if c is not straggler]
    for coordinator in others:
        coordinator.step()
    chain.expire_deadline()
    assert straggler.step().action is Action.REPORT_TIMEOUT  # it does not train for nothing
    assert trainers[straggler.node_id].calls == 0
    for _ in range(4):
        for coordinator in others:
            coordinator.step()
    assert chain.session.status == "completed"
    assert straggler.node_id not in chain.rounds[1].updates
    with pytest.raises(FedloraError, match=r"\[WRONG_PHASE\]"):
        chain.as_node(straggler.node_id).submit_update("s1", 1, "ab" * 32, 5, {"loss": 1.0})


class NanTrainer(FakeTrainer):
    """A careless member: its update is full of NaN."""

    def train(self, global_tensors: Tensors, round_number: int, proximal_mu: float) -> LocalUpdate:
        update = super().train(global_tensors, round_number, proximal_mu)
        poisoned = {name: torch.full_like(t, float("nan")) for name, t in update.tensors.items()}
        return LocalUpdate(poisoned, update.num_examples, update.metrics)


def test_a_malformed_update_is_refused_and_never_aggregated(tmp_path: Path) -> None:
    chain, _, _, coordinators = build(tmp_path, quorum=2, rounds=1)
    careless = next(c for c in coordinators if c.node_id != chain.rounds[1].aggregator)
    careless._executor._trainer = NanTrainer(0)  # type: ignore[attr-defined]
    run_all(coordinators)
    assert chain.session.status == "completed"
    used = _inputs(chain.rounds[1])
    assert careless.node_id not in used and len(used) == 2


def test_an_aggregator_replaced_while_aggregating_waits_instead_of_failing(
    tmp_path: Path,
) -> None:
    chain, _, _, coordinators = build(tmp_path, quorum=2, rounds=1)
    for coordinator in coordinators:
        coordinator.step()  # everyone submits; the round moves to aggregation
    slow = next(c for c in coordinators if c.node_id == chain.rounds[1].aggregator)
    other = next(c for c in coordinators if c is not slow)
    executor = slow._executor
    aggregate = executor.aggregate

    def outlived_by_the_deadline(*args: object) -> object:
        # While this aggregator works, its deadline passes and another node fails it over.
        chain.expire_deadline()
        other._ledger.report_timeout("s1", 1)
        return aggregate(*args)  # type: ignore[arg-type]

    executor.aggregate = outlived_by_the_deadline  # type: ignore[method-assign]
    outcome = slow.step()  # the chain answers [NOT_AGGREGATOR] to its proposal
    assert outcome.action is Action.WAIT and "NOT_AGGREGATOR" in outcome.detail
    assert chain.rounds[1].attempt == 1 and chain.rounds[1].aggregator != slow.node_id


def _submit_as(chain, stores, node: str, data: bytes, n: object, loss: object) -> None:  # type: ignore[no-untyped-def]
    sha = stores[node].put(data)
    chain.as_node(node).submit_update("s1", 1, sha, n, {"loss": loss})


def _crafted_header(header: bytes) -> bytes:
    return struct.pack("<Q", len(header)) + header


@pytest.mark.parametrize(
    ("num_examples", "loss"),
    [(10, -1.0), (10, 1e300), (10, float("nan")), (10**13, 0.5), (0, 0.5)],
)
def test_a_lying_report_is_left_out_and_no_node_stops(
    tmp_path: Path, num_examples: int, loss: float
) -> None:
    chain, stores, _, coordinators = build(tmp_path, quorum=2, rounds=1, rule="fedlora")
    liar = next(c for c in coordinators if c.node_id != chain.rounds[1].aggregator)
    honest = [c for c in coordinators if c is not liar]
    trained = FakeTrainer(0).train(FakeTrainer(0).initial_adapter(0), 1, 0.0).tensors
    data = encode_adapter(trained, _provenance(liar.node_id))
    _submit_as(chain, stores, liar.node_id, data, num_examples, loss)
    run_all(honest)
    used = _inputs(chain.rounds[1])
    assert chain.session.status == "completed" and used == {c.node_id for c in honest}


@pytest.mark.parametrize(
    "header",
    [
        b'{"w": {"dtype": [], "shape": [1], "data_offsets": [0, 4]}}',
        b"[" * 200_000 + b"]" * 200_000,
        b'{"w": {"dtype": "F32", "shape": [' + b"9" * 5000 + b"]}}",
    ],
)
def test_crafted_headers_are_left_out_and_no_node_stops(tmp_path: Path, header: bytes) -> None:
    chain, stores, _, coordinators = build(tmp_path, quorum=2, rounds=1)
    attacker = next(c for c in coordinators if c.node_id != chain.rounds[1].aggregator)
    honest = [c for c in coordinators if c is not attacker]
    _submit_as(chain, stores, attacker.node_id, _crafted_header(header) + bytes(4), 10, 1.0)
    run_all(honest)
    used = _inputs(chain.rounds[1])
    assert chain.session.status == "completed" and attacker.node_id not in used


def test_an_aggregator_with_no_usable_update_waits_instead_of_exiting(tmp_path: Path) -> None:
    chain, stores, _, coordinators = build(tmp_path, quorum=2, rounds=1)
    for index, coordinator in enumerate(coordinators):
        _submit_as(chain, stores, coordinator.node_id, bytes([index]) * 12, 10, 1.0)
    aggregator = next(c for c in coordinators if c.node_id == chain.rounds[1].aggregator)
    outcome = aggregator.step()
    assert outcome.action is Action.WAIT and "peer input unusable" in outcome.detail


def _inputs(round_: Round) -> set[str]:
    """Whose updates went into the round's current proposal."""
    assert round_.proposal is not None
    return {item.node_id for item in round_.proposal.inputs}


def _provenance(node: str) -> dict[str, str]:
    return {"fedlora.node": node, "fedlora.round": "1", "fedlora.session": "s1"}


def test_an_aggregator_that_drops_a_usable_update_is_rejected_and_replaced(tmp_path: Path) -> None:
    chain, _, _, coordinators = build(tmp_path, quorum=2, rounds=1)
    for coordinator in coordinators:
        coordinator.step()  # every update is in
    censor = next(c for c in coordinators if c.node_id == chain.rounds[1].aggregator)
    victim = next(c for c in coordinators if c is not censor)
    executor = censor._executor  # type: ignore[attr-defined]
    session, round_ = chain.session, chain.rounds[1]
    key = RoundKey("s1", 1)
    kept = [AggregateInput(n, u.sha256) for n, u in sorted(round_.updates.items())]
    kept = [item for item in kept if item.node_id != victim.node_id]
    result, inputs = executor._compute(session, round_, key, kept, skip_unusable=True)
    draft = executor._record(result, inputs, session.rule)
    chain.as_node(censor.node_id).propose_aggregate("s1", 1, draft)

    run_all([c for c in coordinators if c is not censor])

    rejected = chain.rounds[1].rejected_proposals
    assert rejected and rejected[0].sha256 == draft.sha256
    used = _inputs(chain.rounds[1])
    assert chain.session.status == "completed" and victim.node_id in used


class BudgetRecorder(StoreFetcher):
    """Records the time budget each fetch was given."""

    def __init__(self, inner: StoreFetcher) -> None:
        super().__init__(inner.stores)
        self.budgets: list[float | None] = []

    def fetch(self, node_id: str, sha256: str, deadline_s: float | None = None) -> bytes:
        self.budgets.append(deadline_s)
        return super().fetch(node_id, sha256)


def test_fetches_share_the_time_left_before_the_phase_deadline(tmp_path: Path) -> None:
    chain, _, _, coordinators = build(tmp_path, quorum=2, rounds=1)
    for coordinator in coordinators:
        coordinator.step()  # every update is in; the round is aggregating
    aggregator = next(c for c in coordinators if c.node_id == chain.rounds[1].aggregator)
    executor = aggregator._executor  # type: ignore[attr-defined]
    recorder = BudgetRecorder(executor._fetcher)
    executor._fetcher = recorder
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=65)
    chain.set_deadline(soon.strftime("%Y-%m-%dT%H:%M:%SZ"))
    aggregator.step()
    assert recorder.budgets and all(b is not None and 55 < b <= 60 for b in recorder.budgets)

    chain.set_deadline("2000-01-01T00:00:00Z")  # passed: no fetch is tried
    other = next(node for node in chain.rounds[1].updates if node != aggregator.node_id)
    recorder.budgets.clear()
    with pytest.raises(FedloraError, match="no time left before the phase deadline"):
        executor.obtain("ee" * 32, [other], dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    assert recorder.budgets == []
