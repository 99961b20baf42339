"""End to end on the live network: 3 orgs, 3 nodes (tiny model), 2 rounds.

Drives the same steps as `fedlora demo`, each node in its own `fedlora node start` process.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from fedlora.artifacts import ContentStore
from fedlora.cli import demo_steps as demo
from fedlora.cli.audit import adapter_sha256
from fedlora.config import load_node_config
from fedlora.daemon.outcome import read_outcome
from fedlora.daemon.wiring import open_contract
from fedlora.network import FabricInstall, UpResult, down, up

pytestmark = pytest.mark.fabric


def test_two_rounds_with_three_nodes(live_network: UpResult, tmp_path: Path) -> None:
    settings = demo.DemoSettings(
        tmp_path, model="tiny", rounds=2, steps=2, batch_size=4, top_layers=1, session_id="e2e"
    )
    nodes = demo.create_nodes(settings, live_network.state, live_network.layout, print)
    demo.start_session(settings, live_network.layout, live_network.state, nodes)
    demo.run_nodes(settings, nodes, print)

    gateway, contract, _ = open_contract(load_node_config(nodes[0].config_path))
    with gateway:
        trail = contract.export_trail("e2e")
    assert trail.session.status == "completed"
    assert trail.rounds[0].aggregator != trail.rounds[1].aggregator  # rotated
    recorded: set[str] = set()
    for round_ in trail.rounds:
        # What the protocol guarantees: the quorum's accepting verdicts on the final hash, the
        # aggregator's own proposal among them (a verdict after finality is refused).
        accepted = {
            node
            for node, e in round_.endorsements.items()
            if e.accept and e.sha256 == round_.final_sha256
        }
        assert len(accepted) >= trail.session.quorum and round_.aggregator in accepted
        assert accepted <= {n.node_id for n in nodes}
        recorded |= {u.sha256 for u in round_.updates.values()} | {round_.final_sha256}
        if round_.proposal is not None and round_.proposal.optimizer_state_sha256:
            recorded.add(round_.proposal.optimizer_state_sha256)
    for node in nodes:
        config = load_node_config(node.config_path)
        store = ContentStore(config.data_dir / "artifacts")
        for sha in recorded:  # what a node holds is byte for byte what the chain names
            if store.has(sha):
                assert hashlib.sha256(store.path(sha).read_bytes()).hexdigest() == sha
        assert store.has(trail.session.final_adapter_sha256)
        outcome = read_outcome(config.data_dir, "e2e")
        assert outcome.final_sha256 == trail.session.final_adapter_sha256
        # the PEFT folder the node wrote is exactly the adapter the chain finalised
        assert adapter_sha256(Path(outcome.adapter_dir)) == trail.session.final_adapter_sha256
        received = {sha for peer in outcome.traffic.values() for sha in peer.artifacts_received}
        assert received <= recorded  # only chain-recorded adapter artifacts crossed the wire


def test_six_nodes_two_per_org_sharing_a_shard_complete(
    fabric_install: FabricInstall, chaincode_server: Path, free_base_port: int, tmp_path: Path
) -> None:
    # The two nodes of an org train on the same shard with the same seed, so their tensors are
    # identical; each update still has its own hash, and no round waits for a refused copy.
    result = up(tmp_path / "network", orgs=3, base_port=free_base_port, install=fabric_install)
    try:
        settings = demo.DemoSettings(
            tmp_path, model="tiny", rounds=2, steps=2, batch_size=4, top_layers=1,
            session_id="six", nodes_per_org=2, quorum=4,
        )  # fmt: skip
        nodes = demo.create_nodes(settings, result.state, result.layout, print)
        demo.start_session(settings, result.layout, result.state, nodes)
        demo.run_nodes(settings, nodes, print)
        gateway, contract, _ = open_contract(load_node_config(nodes[0].config_path))
        with gateway:
            trail = contract.export_trail("six")
    finally:
        down(tmp_path / "network", purge=True)
    assert len(nodes) == 6 and trail.session.status == "completed"
    for round_ in trail.rounds:
        assert round_.phase == "final" and round_.attempt == 0  # no round lost to a refusal
        assert len({u.sha256 for u in round_.updates.values()}) == 6
        accepted = [e for e in round_.endorsements.values() if e.accept]
        assert len(accepted) >= 4
    for node in nodes:
        outcome = read_outcome(load_node_config(node.config_path).data_dir, "six")
        assert outcome.final_sha256 == trail.session.final_adapter_sha256
