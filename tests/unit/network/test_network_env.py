"""Environment of each Fabric process: every path inside the network folder, every port planned."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fedlora.network.env import (
    admin_environment,
    base_environment,
    chaincode_server_environment,
    orderer_environment,
    peer_environment,
)
from fedlora.network.install import FabricInstall
from fedlora.network.layout import NetworkLayout
from fedlora.network.topology import NetworkDefaults, NetworkPlan, plan_network

ROOT = Path("/srv/net")
INSTALL = FabricInstall(Path("/opt/fabric"))


def _plan() -> NetworkPlan:
    return plan_network(3, 41000, "fedlora", NetworkDefaults())


def _fabric_settings(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.startswith(("CORE_", "ORDERER_", "CHAINCODE_"))}


def _ports(env: dict[str, str]) -> set[int]:
    found = set()
    for value in _fabric_settings(env).values():
        found.update(int(port) for port in re.findall(r"127\.0\.0\.1:(\d+)", value))
    return found


@pytest.fixture(autouse=True)
def _caller_has_stray_fabric_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORE_PEER_ADDRESS", "10.0.0.1:7051")
    monkeypatch.setenv("ORDERER_GENERAL_LISTENPORT", "7050")
    monkeypatch.setenv("CORE_VM_ENDPOINT", "unix:///var/run/docker.sock")


def test_orderer_binds_only_its_planned_loopback_ports_and_keeps_data_in_the_folder() -> None:
    plan = _plan()
    env = orderer_environment(plan, NetworkLayout(ROOT), INSTALL)

    assert env["ORDERER_GENERAL_LISTENADDRESS"] == "127.0.0.1"
    assert env["ORDERER_GENERAL_LISTENPORT"] == str(plan.orderer.port)
    assert _ports(env) == {plan.orderer.admin_port, plan.orderer.operations_port}
    for key in ("FILELEDGER_LOCATION", "CONSENSUS_WALDIR", "CONSENSUS_SNAPDIR"):
        assert env[f"ORDERER_{key}"].startswith(str(ROOT / "data" / "orderer"))
    assert env["ORDERER_GENERAL_BOOTSTRAPMETHOD"] == "none"
    assert env["FABRIC_CFG_PATH"] == str(ROOT / "config")


def test_each_peer_has_its_own_ports_data_and_a_short_gossip_reconnect() -> None:
    plan = _plan()
    seen: set[int] = set()
    for org in plan.orgs:
        env = peer_environment(org, NetworkLayout(ROOT), INSTALL)

        ports = _ports(env)
        assert ports == {org.peer_port, org.chaincode_listen_port, org.operations_port}
        assert not ports & seen
        seen |= ports
        assert env["CORE_PEER_FILESYSTEMPATH"] == str(ROOT / "data" / org.peer_name)
        assert env["CORE_LEDGER_SNAPSHOTS_ROOTDIR"].startswith(env["CORE_PEER_FILESYSTEMPATH"])
        assert env["CORE_PEER_GOSSIP_RECONNECTINTERVAL"] == "2s"
        assert env["CORE_PEER_LOCALMSPID"] == org.msp_id
        assert "CORE_VM_ENDPOINT" not in env  # blanked in core.yaml; an env value would win


def test_no_process_inherits_the_callers_fabric_settings_or_points_at_var() -> None:
    plan = _plan()
    layout = NetworkLayout(ROOT)
    envs = [
        orderer_environment(plan, layout, INSTALL),
        admin_environment(plan.orgs[0], layout, INSTALL),
        chaincode_server_environment(
            base_environment(INSTALL, layout),
            plan.orgs[0].chaincode_server_address,
            "fedlora_1.0:ab",
            layout.peer_dir(plan.orgs[0]) / "tls",
        ),
        *(peer_environment(org, layout, INSTALL) for org in plan.orgs),
    ]

    for env in envs:
        assert "10.0.0.1" not in " ".join(env.values())
        assert not any("/var/hyperledger" in value for value in env.values())
        assert env["PATH"].startswith(str(INSTALL.bin_dir))


def test_admin_calls_use_the_org_admin_and_the_chaincode_announces_the_package_id() -> None:
    plan = _plan()
    layout = NetworkLayout(ROOT)
    org = plan.orgs[1]
    tls = layout.peer_dir(org) / "tls"

    admin = admin_environment(org, layout, INSTALL)
    base = base_environment(INSTALL, layout)
    chaincode = chaincode_server_environment(
        base, org.chaincode_server_address, "fedlora_1.0:ab", tls
    )

    assert admin["CORE_PEER_MSPCONFIGPATH"].endswith("users/Admin@org2.fedlora.local/msp")
    assert admin["CORE_PEER_ADDRESS"] == plan.orgs[1].peer_address
    assert admin["FABRIC_LOGGING_SPEC"] == "INFO"  # the CLI prints invoke results at INFO
    assert chaincode["CORE_CHAINCODE_ID_NAME"] == "fedlora_1.0:ab"
    assert chaincode["CHAINCODE_SERVER_ADDRESS"] == f"127.0.0.1:{org.peer_port + 3}"
    # The org's peer dials its own server over mutual TLS; the server uses the peer's key pair.
    assert chaincode["CORE_PEER_TLS_ENABLED"] == "true"
    assert chaincode["CORE_TLS_CLIENT_KEY_FILE"] == str(tls / "server.key")
    assert chaincode["CORE_PEER_TLS_ROOTCERT_FILE"] == str(tls / "ca.crt")
