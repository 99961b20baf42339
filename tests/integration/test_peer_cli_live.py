"""One complete round of a session driven only through Fabric's official `peer` CLI.

No Python Gateway client is involved: every write is `peer chaincode invoke --waitForEvent`,
endorsed by a majority of the orgs' peers (the channel's MAJORITY policy), and every read is
`peer chaincode query`. This proves the contract works for any Fabric client, not only ours.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from fedlora.enrollment import issue_node_identity
from fedlora.ledger import elect_aggregator
from fedlora.network import FabricInstall, UpResult
from fedlora.network.peer_cli import PeerCli

pytestmark = pytest.mark.fabric
RULE = {"name": "fedavg", "params": {}}


@dataclass(frozen=True)
class CliNode:
    """A node identity of one org and the peer CLI signing as it."""

    node_id: str
    tls_cert_sha256: str
    cli: PeerCli


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _issue_nodes(network: UpResult, install: FabricInstall, folder: Path) -> list[CliNode]:
    """One fresh node identity per org, issued from the org's CA folder."""
    plan, layout = network.state.plan, network.layout
    name = f"cli-{uuid.uuid4().hex[:8]}"  # the network is shared: node ids must be new
    nodes = []
    for org in plan.orgs:
        issued = issue_node_identity(layout.org_dir(org), name, ["127.0.0.1"], folder / org.name)
        cli = PeerCli(plan, layout, install, org, issued.msp_dir)
        node_id = f"{org.msp_id}/{issued.common_name}"
        nodes.append(CliNode(node_id, issued.tls_cert_sha256, cli))
    return nodes


def _spec(session_id: str, participants: list[str]) -> str:
    spec = {
        "sessionId": session_id,
        "baseModel": "HuggingFaceTB/SmolLM2-135M",
        "baseModelSha256": _sha("base model"),
        "lora": {"rank": 8, "alpha": 16, "dropout": 0.05, "targetModules": ["q_proj"]},
        "datasetTag": "icd10:peer-cli",
        "rounds": 1,
        "quorum": 2,
        "deadlines": {"collectSeconds": 600, "aggregateSeconds": 600, "endorseSeconds": 600},
        "rule": RULE,
        "participants": participants,
    }
    return json.dumps(spec)


def _proposal(final_sha: str, updates: dict[str, str], examples: dict[str, int]) -> str:
    inputs = [{"nodeId": node, "sha256": sha} for node, sha in sorted(updates.items())]
    weights = {node: float(count) for node, count in examples.items()}
    proposal = {
        "sha256": final_sha,
        "inputs": inputs,
        "weights": weights,
        "rule": RULE,
        "optimizerStateSha256": "",
    }
    return json.dumps(proposal)


def test_a_whole_round_through_the_peer_cli(
    live_network: UpResult, fabric_install: FabricInstall, tmp_path: Path
) -> None:
    # Prepare: three node identities, one per org, each registered by itself
    nodes = _issue_nodes(live_network, fabric_install, tmp_path)
    for port, node in enumerate(nodes, start=7100):
        registered = node.cli.invoke("RegisterNode", f"127.0.0.1:{port}", node.tls_cert_sha256)
        assert registered.json()["nodeId"] == node.node_id
    by_id = {node.node_id: node for node in nodes}
    participants = sorted(by_id)
    plan, layout = live_network.state.plan, live_network.layout
    admin = PeerCli.admin(plan, layout, fabric_install, plan.orgs[0])
    session_id = f"peer-cli-{uuid.uuid4().hex[:8]}"

    # Execute: the org admin creates and starts; every node submits; propose; endorse
    created = admin.invoke("CreateSession", _spec(session_id, participants)).json()
    assert created["status"] == "open" and created["participants"] == participants
    assert admin.invoke("StartSession", session_id).json()["status"] == "running"
    updates = {node_id: _sha(f"{session_id} update {node_id}") for node_id in participants}
    examples = {node_id: 100 + 10 * i for i, node_id in enumerate(participants)}
    for node_id in participants:
        metrics = json.dumps({"loss": 0.5, "accuracy": 0.75})
        args = (session_id, "1", updates[node_id], str(examples[node_id]), metrics)
        by_id[node_id].cli.invoke("SubmitUpdate", *args)
    collected = nodes[0].cli.query_json("GetRound", session_id, "1")
    assert collected["phase"] == "aggregating" and set(collected["updates"]) == set(participants)
    aggregator = collected["aggregator"]
    assert aggregator == elect_aggregator(participants, 1, 0)
    final_sha = _sha(f"{session_id} aggregate")
    proposal = _proposal(final_sha, updates, examples)
    proposed = by_id[aggregator].cli.invoke("ProposeAggregate", session_id, "1", proposal)
    assert proposed.json()["phase"] == "endorsing"
    endorser = next(node_id for node_id in participants if node_id != aggregator)
    by_id[endorser].cli.invoke("EndorseAggregate", session_id, "1", final_sha, "true", "")

    # Assert: read back through `peer chaincode query`
    reader = by_id[participants[-1]].cli
    final_round = reader.query_json("GetRound", session_id, "1")
    assert final_round["phase"] == "final" and final_round["finalSha256"] == final_sha
    session = reader.query_json("GetSession", session_id)
    assert session["status"] == "completed" and session["finalAdapterSha256"] == final_sha
    lineage = reader.query_json("AdapterLineage", final_sha)
    assert lineage["kind"] == "aggregate" and lineage["final"] is True
    assert lineage["producer"] == aggregator
    assert lineage["inputs"] == [{"nodeId": n, "sha256": updates[n]} for n in participants]
    assert lineage["weights"] == {n: float(count) for n, count in examples.items()}
    assert lineage["rule"]["name"] == RULE["name"]
    verdicts = lineage["endorsements"]
    assert set(verdicts) == {aggregator, endorser}
    assert all(
        verdict["accept"] and verdict["sha256"] == final_sha for verdict in verdicts.values()
    )
    assert verdicts[aggregator]["reason"] == "proposed"
