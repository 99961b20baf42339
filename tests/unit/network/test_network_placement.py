"""Peers on hosts of their own: every endpoint rendered from the plan's addresses.

A :class:`Placement` gives each org's peer and chaincode server an address (and a network
namespace to start in) and the orderer a shared address. Each test checks one place an address
ends up in; the default placement must render exactly as before (127.0.0.1 everywhere).
"""

from __future__ import annotations

import io
import json
import socket
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from fedlora.network.configtx import PROFILE
from fedlora.network.env import (
    LINK_LOSS_ORDERER_SETTINGS,
    LINK_LOSS_PEER_SETTINGS,
    orderer_environment,
    peer_environment,
)
from fedlora.network.install import FabricInstall
from fedlora.network.layout import NetworkLayout
from fedlora.network.package import org_package
from fedlora.network.processes import chaincode_spec, orderer_spec, peer_spec
from fedlora.network.render import render_channel_configtx, render_crypto_config
from fedlora.network.state import NetworkState, ProcessRecord, load_state, save_state
from fedlora.network.supervisor import probe_health
from fedlora.network.topology import (
    NetworkDefaults,
    NetworkPlan,
    OrgHost,
    Placement,
    busy_ports,
    plan_from_dict,
    plan_network,
    port_is_free,
)

ROOT = Path("/srv/net")
INSTALL = FabricInstall(Path("/opt/fabric"))
SHARED = "10.9.8.254"
# Org 1 and 2 on hosts of their own; org 3 is left out of the placement, so stays on loopback.
PLACEMENT = Placement(SHARED, (OrgHost("10.9.8.1", "hosta"), OrgHost("10.9.8.2", "hostb")))


def _placed() -> NetworkPlan:
    return plan_network(3, 41000, "fedlora", NetworkDefaults(), PLACEMENT)


def _member(archive_bytes: bytes, name: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(archive_bytes), mode="r:gz") as archive:
        return archive.extractfile(name).read()  # type: ignore[union-attr]


def _members(configtx: str) -> list[dict[str, Any]]:
    profile = yaml.safe_load(configtx)["Profiles"][PROFILE]
    members: list[dict[str, Any]] = profile["Application"]["Organizations"]
    return members


def test_the_plan_puts_each_peer_on_its_host_and_the_orderer_on_the_shared_address() -> None:
    plan = _placed()

    assert [org.peer_address for org in plan.orgs] == [
        "10.9.8.1:41010", "10.9.8.2:41020", "127.0.0.1:41030",
    ]  # fmt: skip
    assert [org.netns for org in plan.orgs] == ["hosta", "hostb", None]
    assert plan.orderer.address == f"{SHARED}:41000"
    assert plan.orderer.admin_address == f"{SHARED}:41001"
    # Each org's chaincode server sits beside its peer, on the peer's host.
    assert [org.chaincode_server_address for org in plan.orgs][:2] == [
        "10.9.8.1:41013", "10.9.8.2:41023",
    ]  # fmt: skip
    assert plan.listeners()["peer0.org2 operations"] == ("10.9.8.2", 41022)
    assert plan.ports() == plan_network(3, 41000, "fedlora", NetworkDefaults()).ports()


def test_a_placed_plan_survives_the_state_file_and_an_old_one_loads_on_loopback() -> None:
    plan = _placed()
    old = plan.to_dict()
    for org in old["orgs"]:
        del org["ip"], org["netns"]
    del old["orderer"]["ip"]

    assert plan_from_dict(plan.to_dict()) == plan
    assert plan_from_dict(old) == plan_network(3, 41000, "fedlora", NetworkDefaults())


def test_ports_are_checked_on_the_address_each_process_listens_on() -> None:
    asked: list[tuple[int, str]] = []

    def record(port: int, ip: str) -> bool:
        asked.append((port, ip))
        return port != 41011

    busy = busy_ports(_placed(), is_free=record)

    assert busy == [("peer0.org1 chaincode", 41011)]
    assert (41000, SHARED) in asked and (41013, "10.9.8.1") in asked
    assert (41010, "10.9.8.1") in asked and (41030, "127.0.0.1") in asked


def test_an_address_this_namespace_does_not_have_counts_as_free() -> None:
    # TEST-NET-2 (RFC 5737): never configured on a test machine.
    assert port_is_free(41000, "198.51.100.7")


def test_tls_certificates_cover_each_node_address_besides_loopback() -> None:
    config = yaml.safe_load(render_crypto_config(_placed()))

    assert config["OrdererOrgs"][0]["Specs"][0]["SANS"] == ["localhost", "127.0.0.1", SHARED]
    sans = [org["Template"]["SANS"] for org in config["PeerOrgs"]]
    assert sans == [
        ["localhost", "127.0.0.1", "10.9.8.1"],
        ["localhost", "127.0.0.1", "10.9.8.2"],
        ["localhost", "127.0.0.1"],
    ]


def test_channel_config_names_the_placed_anchor_peers_orderer_and_consenter() -> None:
    configtx = render_channel_configtx(_placed(), NetworkLayout(ROOT))
    profile = yaml.safe_load(configtx)["Profiles"][PROFILE]

    anchors = [org["AnchorPeers"][0] for org in _members(configtx)]
    assert anchors == [
        {"Host": "10.9.8.1", "Port": 41010},
        {"Host": "10.9.8.2", "Port": 41020},
        {"Host": "127.0.0.1", "Port": 41030},
    ]
    assert profile["Orderer"]["Organizations"][0]["OrdererEndpoints"] == [f"{SHARED}:41000"]
    consenter = profile["Orderer"]["EtcdRaft"]["Consenters"][0]
    assert (consenter["Host"], consenter["Port"]) == (SHARED, 41000)


def test_every_listen_and_gossip_address_of_a_peer_is_on_its_host() -> None:
    org = _placed().orgs[0]
    env = peer_environment(org, NetworkLayout(ROOT), INSTALL)

    for key in ("ADDRESS", "LISTENADDRESS", "GOSSIP_BOOTSTRAP", "GOSSIP_EXTERNALENDPOINT"):
        assert env[f"CORE_PEER_{key}"] == "10.9.8.1:41010"
    assert env["CORE_PEER_CHAINCODELISTENADDRESS"] == "10.9.8.1:41011"
    assert env["CORE_OPERATIONS_LISTENADDRESS"] == "10.9.8.1:41012"


def test_only_peers_on_a_link_detect_a_silent_loss_sooner_and_the_orderer_allows_it() -> None:
    plan, layout = _placed(), NetworkLayout(ROOT)
    linked, local = (peer_environment(org, layout, INSTALL) for org in plan.orgs[::2])
    orderer = orderer_environment(plan, layout, INSTALL)
    all_local = plan_network(3, 41000, "fedlora", NetworkDefaults())
    orderer_all_local = orderer_environment(all_local, layout, INSTALL)

    assert LINK_LOSS_PEER_SETTINGS.items() <= linked.items()
    assert not LINK_LOSS_PEER_SETTINGS.keys() & local.keys()
    assert LINK_LOSS_ORDERER_SETTINGS.items() <= orderer.items()
    assert not LINK_LOSS_ORDERER_SETTINGS.keys() & orderer_all_local.keys()


def test_the_orderer_listens_on_the_shared_address_each_chaincode_server_on_its_orgs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FEDLORA_CHAINCODE_BIN", sys.executable)  # any program; it is not run
    plan, layout = _placed(), NetworkLayout(ROOT)
    orderer = orderer_environment(plan, layout, INSTALL)

    assert orderer["ORDERER_GENERAL_LISTENADDRESS"] == SHARED
    assert orderer["ORDERER_ADMIN_LISTENADDRESS"] == f"{SHARED}:41001"
    assert orderer["ORDERER_OPERATIONS_LISTENADDRESS"] == f"{SHARED}:41002"
    server = chaincode_spec(plan.orgs[0], layout, INSTALL, "fedlora_1.0:ab")
    assert server.env["CHAINCODE_SERVER_ADDRESS"] == "10.9.8.1:41013"
    assert server.command == ["ip", "netns", "exec", "hosta", sys.executable]


def test_the_chaincode_package_sends_each_peer_to_its_orgs_server() -> None:
    tls = Path(__file__).parent / "samples" / "peer-tls"
    code = _member(org_package(_placed(), _placed().orgs[1], tls), "code.tar.gz")

    assert json.loads(_member(code, "connection.json"))["address"] == "10.9.8.2:41023"


def test_a_placed_peer_starts_in_its_namespace_and_is_probed_on_its_address() -> None:
    plan, layout = _placed(), NetworkLayout(ROOT)
    placed = peer_spec(plan.orgs[0], layout, INSTALL)
    local = peer_spec(plan.orgs[2], layout, INSTALL)

    peer = ["/opt/fabric/bin/peer", "node", "start"]
    assert placed.command == ["ip", "netns", "exec", "hosta", *peer]
    assert local.command == peer
    assert placed.health_url == "http://10.9.8.1:41012/healthz" and placed.host == "10.9.8.1"
    assert orderer_spec(plan, layout, INSTALL).health_url == f"http://{SHARED}:41002/healthz"


def test_the_chaincode_server_is_probed_on_its_orgs_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FEDLORA_CHAINCODE_BIN", sys.executable)  # any program; it is not run
    with socket.socket() as listener:
        listener.bind(("127.0.0.2", 0))  # all of 127.0.0.0/8 is loopback on Linux
        listener.listen()
        port = listener.getsockname()[1]
        placement = Placement(SHARED, (OrgHost("127.0.0.2"),))
        plan = plan_network(3, port - 13, "fedlora", NetworkDefaults(), placement)
        spec = chaincode_spec(plan.orgs[0], NetworkLayout(ROOT), INSTALL, "fedlora_1.0:ab")
        on_its_host = ProcessRecord("chaincode", 1, 0.0, spec.ports, "x", None, host=spec.host)
        on_loopback = ProcessRecord("chaincode", 1, 0.0, spec.ports, "x", None)

        assert probe_health(on_its_host)
        assert not probe_health(on_loopback)


def test_a_state_file_without_process_hosts_still_loads(tmp_path: Path) -> None:
    record = ProcessRecord("orderer", 4242, 17.5, (41000,), "/x/orderer.log", "http://h")
    save_state(tmp_path / "state.json", NetworkState(_placed(), processes={"orderer": record}))
    data = json.loads((tmp_path / "state.json").read_text())
    del data["processes"]["orderer"]["host"]
    (tmp_path / "state.json").write_text(json.dumps(data))

    loaded = load_state(tmp_path / "state.json")

    assert loaded is not None and loaded.processes["orderer"].host == "127.0.0.1"
    assert loaded.plan == _placed()
