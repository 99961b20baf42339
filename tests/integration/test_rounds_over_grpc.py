"""Three nodes run a session over real mutual-TLS gRPC, with the chain played in memory.

Everything but Fabric is real here: content stores, the AdapterExchange servers and clients, the
chain-backed fetcher, deterministic aggregation and recompute-to-endorse. It checks that only
adapter artifacts recorded on chain crossed the wire, and that each one decodes as adapter
tensors and nothing else.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.unit.daemon.fake_ledger import FakeLedger, make_session
from tests.unit.daemon.test_coordinator import KEYS, NODES, FakeTrainer

from fedlora.aggregation import state_keys, strategy_from_name
from fedlora.artifacts import ContentStore, decode_adapter
from fedlora.daemon.coordinator import Coordinator
from fedlora.daemon.decide import Action
from fedlora.daemon.rounds import RoundExecutor
from fedlora.daemon.wiring import PeerFetcher, StoreSource
from fedlora.transport import ArtifactServer, StaticAuthorizer, TlsMaterial, TrafficCounter
from fedlora.transport.throwaway_pki import issue_certificate, make_ca
from fedlora.transport.tls import certificate_fingerprint, pem_to_der


@pytest.fixture
def network(
    tmp_path: Path,
) -> Iterator[tuple[FakeLedger, dict[str, ContentStore], list[Coordinator], TrafficCounter]]:
    cas = [make_ca(f"tlsca.org{i}") for i in range(1, 4)]
    trusted = tuple(ca.cert_pem for ca in cas)
    tls = {}
    for node, ca in zip(NODES, cas, strict=True):
        issued = issue_certificate(ca, node.replace("/", "."))
        tls[node] = TlsMaterial(issued.cert_pem, issued.key_pem, trusted)
    fingerprints = {certificate_fingerprint(pem_to_der(t.cert_pem)): n for n, t in tls.items()}
    chain = FakeLedger(make_session("s1", NODES, rounds=2, quorum=3, rule="fedlora"), {})
    stores = {node: ContentStore(tmp_path / node.replace("/", "_")) for node in NODES}
    traffic = TrafficCounter()
    servers = []
    for node in NODES:
        server = ArtifactServer(
            source=StoreSource(stores[node]),
            authorizer=StaticAuthorizer(fingerprints),
            tls=tls[node],
            node_id=node,
            traffic=traffic,
        )
        chain.endpoints[node] = f"127.0.0.1:{server.start()}"
        chain.tls_fingerprints[node] = tls[node].fingerprint
        servers.append(server)
    coordinators = []
    for index, node in enumerate(NODES):
        view = chain.as_node(node)
        fetcher = PeerFetcher(view, tls[node], 1 << 20, TrafficCounter())  # type: ignore[arg-type]
        executor = RoundExecutor(node, view, stores[node], FakeTrainer(index), fetcher)
        coordinators.append(Coordinator("s1", executor, view, tmp_path / "state" / str(index)))
    yield chain, stores, coordinators, traffic
    for server in servers:
        server.stop()


def test_session_completes_and_only_recorded_adapters_cross_the_wire(network) -> None:  # type: ignore[no-untyped-def]
    chain, stores, coordinators, traffic = network
    done: set[str] = set()
    for _ in range(80):
        for coordinator in coordinators:
            if coordinator.node_id not in done and coordinator.step().action is Action.STOP:
                done.add(coordinator.node_id)
        if len(done) == 3:
            break
    assert chain.session.status == "completed"

    recorded = set()
    for round_ in chain.rounds.values():
        recorded |= {update.sha256 for update in round_.updates.values()}
        recorded |= {round_.final_sha256, round_.proposal.optimizer_state_sha256}
    strategy = strategy_from_name("fedlora")
    allowed = set(KEYS) | set(state_keys(strategy, list(KEYS)))
    sent = {sha for peer in traffic.snapshot().values() for sha in peer.artifacts_sent}
    assert sent, "the nodes should have pulled artifacts from each other"
    assert sent <= recorded  # nothing crossed the wire that the chain does not account for
    for sha in sent:
        holder = next(s for s in stores.values() if s.has(sha))
        data = holder.get(sha)
        assert hashlib.sha256(data).hexdigest() == sha
        names = set(decode_adapter(data))  # an adapter or optimizer state: named tensors only
        assert names <= allowed, names - allowed
    finals = {decode_adapter(s.get(chain.rounds[2].final_sha256))[KEYS[1]].sum().item()
              for s in stores.values()}  # fmt: skip
    assert len(finals) == 1  # every node ends with the same global adapter
