"""End to end on the live network: 3 orgs, 3 nodes (tiny model), 2 rounds.

Drives the same steps as `fedlora demo`, each node in its own `fedlora node start` process,
then checks what a compliance officer holds: the final adapter file hashes (`sha256sum`) to the
chain's record, its model card is filled, and `audit report` renders in headless Chromium.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from tests.support.browser import dump_dom, screenshot
from typer.testing import CliRunner

from fedlora.artifacts import ContentStore
from fedlora.cli import demo_steps as demo
from fedlora.cli.app import app
from fedlora.cli.audit import adapter_sha256
from fedlora.config import load_node_config
from fedlora.daemon.outcome import read_outcome
from fedlora.daemon.wiring import open_contract
from fedlora.ledger import Trail
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
        _check_final_folder(Path(outcome.adapter_dir), trail)
        received = {sha for peer in outcome.traffic.values() for sha in peer.artifacts_received}
        assert received <= recorded  # only chain-recorded adapter artifacts crossed the wire
    _check_audit_report(nodes[0].config_path, trail, tmp_path)


def _check_final_folder(folder: Path, trail: Trail) -> None:
    """The file is the proof (sha256sum, no fedlora needed) and the model card is filled."""
    final = trail.session.final_adapter_sha256
    done = subprocess.run(
        ["sha256sum", "adapter_model.safetensors"],
        cwd=folder, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert done.stdout.split()[0] == final
    card = (folder / "README.md").read_text()
    assert "[More Information Needed]" not in card
    assert final in card and "sha256sum adapter_model.safetensors" in card
    assert trail.session.base_model_sha256 in card and "`e2e`" in card
    assert all(f"`{node.split('/')[0]}`" in card for node in trail.session.participants)
    assert "Final adapter on this site's own test split" in card


def _check_audit_report(config_path: Path, trail: Trail, tmp_path: Path) -> None:
    """`audit verify` matches the file's own bytes; `audit report` renders in Chromium."""
    runner = CliRunner()
    folder = Path(read_outcome(load_node_config(config_path).data_dir, "e2e").adapter_dir)
    verified = runner.invoke(
        app, ["audit", "verify", str(folder), "--config", str(config_path), "--json"]
    )
    assert verified.exit_code == 0, verified.output
    lineage = json.loads(verified.output)
    assert lineage["matched"] == "raw file bytes" and lineage["final"] is True
    page = tmp_path / "report.html"
    made = runner.invoke(
        app, ["audit", "report", "--config", str(config_path), "--session", "e2e",
              "--out", str(page)],
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    dom = dump_dom(page)
    assert "fedlora audit report: session <code>e2e</code>" in dom
    assert dom.count("<svg") >= 4 and 'aria-label="lineage graph"' in dom
    assert re.search(r"Block height at read</td><td>\d+</td>", dom)
    tx_ids = {u.tx_id for r in trail.rounds for u in r.updates.values()}
    tx_ids |= {e.tx_id for r in trail.rounds for e in r.endorsements.values()}
    assert all(tx in dom for tx in tx_ids)
    assert dom.count(">session:e2e<") >= 3  # every version of the session record
    shot = screenshot(page, tmp_path / "report.png", (1400, 2200))
    keep = os.environ.get("FEDLORA_SCREENSHOT_DIR")
    if keep:  # how docs/audit-report.png is refreshed from a live session
        shutil.copy(shot, Path(keep) / "audit-report-live.png")


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
