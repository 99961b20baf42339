"""`fedlora node init` against a network folder: creates a node; bad input is one clear line."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.pki import make_org
from typer.testing import CliRunner

from fedlora.cli.app import app
from fedlora.network import NetworkLayout, plan_network
from fedlora.network.state import NetworkState, save_state

runner = CliRunner()


def make_network(root: Path) -> Path:
    plan = plan_network(orgs=2, base_port=21000, channel="fedlora")
    layout = NetworkLayout(root)
    for org in plan.orgs:
        org_dir = layout.org_dir(org)
        org_dir.parent.mkdir(parents=True, exist_ok=True)
        make_org(org_dir.parent, org_dir.name)
        layout.peer_tls_ca(org).parent.mkdir(parents=True)
        layout.peer_tls_ca(org).write_bytes(next((org_dir / "tlsca").glob("*.pem")).read_bytes())
    save_state(layout.state_file, NetworkState(plan=plan))
    return root


def test_init_creates_a_node_folder_for_the_org(tmp_path: Path) -> None:
    network = make_network(tmp_path / "net")
    out = tmp_path / "node"
    args = ["node", "init", "--org", "2", "--network-dir", str(network), "--out", str(out)]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["node_id"].startswith("Org2MSP/node1@")
    assert (out / "node.toml").is_file() and (out / "tls" / "client.crt").is_file()


def test_init_without_a_network_is_one_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["node", "init", "--org", "1", "--network-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "no network in" in result.output and "fedlora network up" in result.output


def test_init_with_an_unknown_org_is_one_clear_error(tmp_path: Path) -> None:
    network = make_network(tmp_path / "net")
    result = runner.invoke(app, ["node", "init", "--org", "5", "--network-dir", str(network)])
    assert result.exit_code == 2
    assert "--org 5 is not a member org" in result.output
