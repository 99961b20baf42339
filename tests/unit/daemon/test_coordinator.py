"""Three coordinators drive a session through the round protocol against an in-memory chain."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from pathlib import Path

import pytest
import torch
from tests.unit.daemon.fake_ledger import FakeLedger, make_session

from fedlora.artifacts import ContentStore, Tensors, decode_adapter, sha256_hex
from fedlora.daemon.coordinator import Coordinator
from fedlora.daemon.decide import Action
from fedlora.daemon.ports import LocalUpdate
from fedlora.daemon.rounds import RoundExecutor
from fedlora.errors import FedloraError
from fedlora.ledger import ProposalDraft

NODES = ["Org1MSP/n1", "Org2MSP/n2", "Org3MSP/n3"]
KEYS = ("m.q_proj.lora_A.weight", "m.q_proj.lora_B.weight")


class FakeTrainer:
    """Deterministic 'training': each node nudges lora_B by its own amount."""

    def __init__(self, index: int) -> None:
        self.index, self.calls = index, 0

    def initial_adapter(self, seed: int) -> Tensors:
        generator = torch.Generator().manual_seed(seed)
        return {KEYS[0]: torch.randn(2, 4, generator=generator), KEYS[1]: torch.zeros(4, 2)}

    def train(self, global_tensors: Tensors, round_number: int, proximal_mu: float) -> LocalUpdate:
        self.calls += 1
        tensors = dict(global_tensors)
        tensors[KEYS[1]] = global_tensors[KEYS[1]] + (self.index + 1) * 0.1 * round_number
        loss = 1.0 / (self.index + 1)
        return LocalUpdate(tensors, num_examples=10 * (self.index + 1), metrics={"loss": loss})


class StoreFetcher:
    """Fetch from the other nodes' stores, checking the hash like the transport does."""

    def __init__(self, stores: Mapping[str, ContentStore]) -> None:
        self.stores = stores

    def fetch(self, node_id: str, sha256: str, deadline_s: float | None = None) -> bytes:
        if not self.stores[node_id].has(sha256):
            raise FedloraError(f"{node_id} does not hold {sha256[:12]}")
        data = self.stores[node_id].get(sha256)
        assert sha256_hex(data) == sha256
        return data


def build(  # type: ignore[no-untyped-def]
    tmp_path: Path, quorum: int = 3, rounds: int = 2, rule: str = "fedavg", same_data=False
):
    chain = FakeLedger(make_session("s1", NODES, rounds, quorum, rule=rule), {})
    stores = {node: ContentStore(tmp_path / node.replace("/", "_")) for node in NODES}
    fetcher = StoreFetcher(stores)
    trainers = {node: FakeTrainer(0 if same_data else i) for i, node in enumerate(NODES)}
    coordinators = []
    for node in NODES:
        view = chain.as_node(node)
        executor = RoundExecutor(node, view, stores[node], trainers[node], fetcher)
        coordinators.append(Coordinator("s1", executor, view, tmp_path / "state" / node))
    return chain, stores, trainers, coordinators


def run_all(coordinators: list[Coordinator], limit: int = 60) -> None:
    done: set[str] = set()
    for _ in range(limit):
        for coordinator in coordinators:
            if coordinator.node_id not in done and coordinator.step().action is Action.STOP:
                done.add(coordinator.node_id)
        if len(done) == len(coordinators):
            return
    raise AssertionError("session did not finish")


def test_two_rounds_complete_with_rotation_and_endorsements(tmp_path: Path) -> None:
    chain, stores, trainers, coordinators = build(tmp_path)
    run_all(coordinators)
    assert chain.session.status == "completed"
    proposers = [node for kind, node, _ in chain.log if kind == "propose"]
    assert proposers == [NODES[1], NODES[2]]  # participants[(r + 0) % 3] for r = 1, 2
    for number in (1, 2):
        endorsers = {n for kind, n, r in chain.log if kind == "endorse" and r == number}
        assert endorsers == set(NODES) - {chain.rounds[number].aggregator}
    finals = {c.node_id: c.final_adapter for c in coordinators}
    final_sha = chain.rounds[2].final_sha256
    for node, tensors in finals.items():
        assert tensors is not None
        assert stores[node].has(final_sha)
        assert torch.equal(tensors[KEYS[1]], decode_adapter(stores[node].get(final_sha))[KEYS[1]])
    assert all(trainer.calls == 2 for trainer in trainers.values())


def test_fedavg_aggregate_is_the_example_weighted_mean(tmp_path: Path) -> None:
    chain, stores, _, coordinators = build(tmp_path, rounds=1)
    run_all(coordinators)
    final = decode_adapter(stores[NODES[0]].get(chain.rounds[1].final_sha256))
    # round 1 deltas 0.1, 0.2, 0.3 weighted by 10, 20, 30 examples
    expected = (0.1 * 10 + 0.2 * 20 + 0.3 * 30) / 60
    assert torch.allclose(final[KEYS[1]], torch.full((4, 2), expected))


def test_a_tampered_aggregate_is_rejected_and_the_next_aggregator_takes_over(
    tmp_path: Path,
) -> None:
    chain, stores, _, coordinators = build(tmp_path, rounds=1, quorum=2)
    for coordinator in coordinators:  # everyone trains and submits
        coordinator.step()
    liar = next(c for c in coordinators if c.node_id == chain.rounds[1].aggregator)
    forged = stores[liar.node_id].put(b"not the aggregate")
    view = chain.as_node(liar.node_id)
    draft = ProposalDraft(
        inputs=(), optimizer_state_sha256=forged, rule=chain.session.rule, sha256=forged, weights={}
    )
    view.propose_aggregate("s1", 1, draft)
    run_all([c for c in coordinators if c is not liar])
    rejected = chain.rounds[1].rejected_proposals
    assert rejected and rejected[0].sha256 == forged and rejected[0].cause == "rejected"
    assert chain.rounds[1].final_sha256 != forged
    assert chain.session.status == "completed"


def test_a_restarted_node_resubmits_its_recorded_update_without_training(tmp_path: Path) -> None:
    chain, _, trainers, coordinators = build(tmp_path, rounds=1)
    first = coordinators[0]
    original_submit = chain.as_node(first.node_id).submit_update

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("node killed between training and submission")

    first._ledger.submit_update = crash  # type: ignore[attr-defined]
    first._executor._ledger = first._ledger  # type: ignore[attr-defined]
    with pytest.raises(RuntimeError):
        first.step()
    assert trainers[first.node_id].calls == 1
    first._ledger.submit_update = original_submit  # type: ignore[attr-defined]
    first.step()  # after the "restart": the pending record is submitted as it was
    assert trainers[first.node_id].calls == 1
    assert first.node_id in chain.rounds[1].updates


def test_sites_with_identical_data_submit_distinct_updates_and_complete(tmp_path: Path) -> None:
    # Same shard, same seed, same tensors: the bytes still differ because each names its node.
    chain, _, _, coordinators = build(tmp_path, rounds=2, same_data=True)
    run_all(coordinators)
    assert chain.session.status == "completed"
    for number in (1, 2):
        hashes = {update.sha256 for update in chain.rounds[number].updates.values()}
        assert len(hashes) == len(NODES)


def test_an_update_that_names_another_producer_is_left_out(tmp_path: Path) -> None:
    chain, stores, _, coordinators = build(tmp_path, rounds=1, quorum=2)
    honest, copier = coordinators[0], coordinators[2]
    honest.step()
    stolen = chain.rounds[1].updates[honest.node_id].sha256
    data = stores[honest.node_id].get(stolen)
    replay = data.replace(b"fedlora.node", b"fedlora.nodf")  # same tensors, re-hashed bytes
    sha = stores[copier.node_id].put(replay)
    chain.as_node(copier.node_id).submit_update("s1", 1, sha, 10, {"loss": 1.0})
    run_all(coordinators)
    round_ = chain.rounds[1]
    assert chain.session.status == "completed"
    assert round_.proposal is not None
    assert copier.node_id not in {item.node_id for item in round_.proposal.inputs}


class SlowFetcher(StoreFetcher):
    def fetch(self, node_id: str, sha256: str, deadline_s: float | None = None) -> bytes:
        time.sleep(0.01)
        return super().fetch(node_id, sha256, deadline_s)


def test_each_action_is_timed_with_its_fetches_apart(tmp_path: Path) -> None:
    chain = FakeLedger(make_session("s1", NODES, 2, 3), {})
    stores = {node: ContentStore(tmp_path / node.replace("/", "_")) for node in NODES}
    executors = {
        node: RoundExecutor(node, chain.as_node(node), stores[node], FakeTrainer(i),
                            SlowFetcher(stores))
        for i, node in enumerate(NODES)
    }  # fmt: skip
    run_all([Coordinator("s1", e, chain.as_node(n), tmp_path / n) for n, e in executors.items()])
    for node, executor in executors.items():
        taken = [(t.action, t.round) for t in executor.timings]
        done = [(kind, r) for kind, n, r in chain.log if n == node and kind != "submit"]
        assert done and [a for a in taken if a[0] != "train"] == done
        assert [a for a in taken if a[0] == "train"] == [("train", 1), ("train", 2)]
        for timing in executor.timings:
            assert min(timing.fetch_s, timing.work_s, timing.commit_s) >= 0
        # two other updates per round at least, fetched ahead (prefetch) or within an action
        assert executor.fetch_seconds >= 2 * 2 * 0.01
        assert sum(t.fetch_s for t in executor.timings) <= executor.fetch_seconds + 0.001


def test_a_waiting_node_prefetches_the_updates_already_on_chain(tmp_path: Path) -> None:
    chain, stores, _, coordinators = build(tmp_path, quorum=3, rounds=1)
    first, second, third = coordinators
    trained = first.step()
    assert trained.action is Action.TRAIN and re.search(
        r"\(fetch [\d.]+ s, work [\d.]+ s, commit", trained.detail
    )
    second.step()  # two updates in; the round still collects
    assert first.step().detail == "prefetched 1 update(s)"
    assert stores[first.node_id].has(chain.rounds[1].updates[second.node_id].sha256)
    assert first.step().detail == ""  # nothing new to fetch
    third.step()
    run_all(coordinators)
    assert chain.session.status == "completed"
