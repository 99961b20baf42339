"""The consortium network for real: 3 orgs, up, invoke through the peer CLI, restart, purge."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from fedlora.network import FabricInstall, NetworkLayout, down, network_status, up
from fedlora.network.env import admin_environment
from fedlora.network.state import NetworkState
from fedlora.network.supervisor import is_running
from fedlora.network.topology import port_is_free

pytestmark = pytest.mark.fabric
METADATA_CALL = json.dumps({"function": "org.hyperledger.fabric:GetMetadata", "Args": []})


def _peer(
    install: FabricInstall, layout: NetworkLayout, state: NetworkState, org: int, args: list[str]
) -> subprocess.CompletedProcess[str]:
    """Run the official peer CLI as the admin of org ``org`` (1-based) against its peer."""
    env = admin_environment(state.plan.orgs[org - 1], layout, install)
    return subprocess.run(
        [str(install.binary("peer")), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _invoke_as_org2(install: FabricInstall, layout: NetworkLayout, state: NetworkState) -> str:
    plan = state.plan
    args = [
        "chaincode",
        "invoke",
        "-o",
        plan.orderer.address,
        "--tls",
        "--cafile",
        str(layout.orderer_tls_ca(plan)),
        "-C",
        plan.channel,
        "-n",
        plan.chaincode.name,
        "-c",
        METADATA_CALL,
        "--waitForEvent",
    ]
    for org in plan.orgs[1:]:  # Org2 and Org3: a majority of three without Org1
        args += [
            "--peerAddresses",
            org.peer_address,
            "--tlsRootCertFiles",
            str(layout.peer_tls_ca(org)),
        ]
    done = _peer(install, layout, state, 2, args)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stderr


def _check_the_contract_answers(
    install: FabricInstall, layout: NetworkLayout, state: NetworkState
) -> None:
    """A transaction by Org2 endorsed by Org2 and Org3, then a query through Org3's peer."""
    answer = _invoke_as_org2(install, layout, state)
    assert "Chaincode invoke successful. result: status:200" in answer
    args = ["chaincode", "query", "-C", state.plan.channel, "-n", "fedlora", "-c", METADATA_CALL]
    query = _peer(install, layout, state, 3, args)
    assert query.returncode == 0, query.stderr[-2000:]
    assert "fedlora" in json.loads(query.stdout)["contracts"]  # our contract answered


def _heights(folder: Path, install: FabricInstall) -> dict[str, int]:
    heights = network_status(folder, install=install)["channel_heights"]
    assert all(isinstance(height, int) for height in heights.values()), heights
    return dict(heights)


def _wait_all_above(folder: Path, install: FabricInstall, floor: dict[str, int]) -> dict[str, int]:
    """Heights once every peer has passed ``floor`` (peers not addressed by an invoke receive
    its block from the orderer a moment later), or the last heights seen after 20 s."""
    deadline = time.monotonic() + 20
    heights = _heights(folder, install)
    while any(heights[p] <= floor[p] for p in floor) and time.monotonic() < deadline:
        time.sleep(0.5)
        heights = _heights(folder, install)
    return heights


def test_three_org_network_serves_restarts_on_its_ledger_and_purges(
    fabric_install: FabricInstall, chaincode_server: Path, tmp_path: Path, free_base_port: int
) -> None:
    folder = tmp_path / "network"
    layout = NetworkLayout(folder)

    first = up(
        folder, orgs=3, channel="hospitals", base_port=free_base_port, install=fabric_install
    )
    state = first.state
    ports = list(state.plan.ports().values())
    records = list(state.processes.values())
    assert first.ready_answer.startswith("status:200")

    _check_the_contract_answers(fabric_install, layout, state)

    status = network_status(folder, install=fabric_install)
    # Orderer, 3 peers, and each org's own chaincode server (mutual TLS with its peer).
    assert [p["state"] for p in status["processes"]] == ["healthy"] * 7
    assert len(set(state.package_ids.values())) == 3
    assert status["chaincode_version"] == "1.0"
    before = _heights(folder, fabric_install)

    down(folder)
    assert not any(is_running(record) for record in records)
    assert all(port_is_free(port) for port in ports)

    again = up(folder, install=fabric_install)
    assert again.restarted
    after = _wait_all_above(folder, fabric_install, before)
    # The restart kept every block and added the readiness transaction on top.
    assert all(after[peer] > before[peer] for peer in before), (before, after)
    assert network_status(folder, install=fabric_install)["chaincode_version"] == "1.0"
    restarted = list(again.state.processes.values())

    down(folder, purge=True)

    assert not folder.exists()
    assert not any(is_running(record) for record in [*records, *restarted])
    assert all(port_is_free(port) for port in ports)
