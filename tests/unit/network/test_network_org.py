"""One org's folder, its public definition, and the consortium's configtx built from definitions."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from fedlora.errors import FedloraError
from fedlora.network.consortium import majority
from fedlora.network.env import admin_environment, orderer_environment, peer_environment
from fedlora.network.genesis import PROFILE, create_genesis, render_consortium_configtx
from fedlora.network.install import FabricInstall
from fedlora.network.layout import NetworkLayout
from fedlora.network.members import read_member, unpack_members
from fedlora.network.org import (
    OrgFolder,
    OrgSettings,
    export_definition,
    render_org_crypto_config,
    write_definition,
)
from fedlora.network.org_nodes import admin_env, orderer_env, peer_env
from fedlora.network.package import ccaas_package
from fedlora.network.topology import NetworkDefaults, OrgHost, Placement, plan_network

CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
KEY = "-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n"


def _msp(root: Path, name: str) -> None:
    (root / "cacerts").mkdir(parents=True)
    (root / "cacerts" / f"ca.{name}-cert.pem").write_text(CERT)
    (root / "tlscacerts").mkdir()
    (root / "tlscacerts" / f"tlsca.{name}-cert.pem").write_text(CERT)
    (root / "config.yaml").write_text("NodeOUs:\n  Enable: true\n")
    (root / "keystore").mkdir()
    (root / "keystore" / "priv_sk").write_text(KEY)


def _org(tmp_path: Path, number: int) -> OrgFolder:
    """An org folder laid out as `org init` leaves it, with stand-in certificates and keys."""
    org = OrgSettings(f"Org{number}", f"10.0.0.{number}", 27050)
    folder = OrgFolder(tmp_path / org.name.lower())
    folder.root.mkdir(parents=True)
    folder.settings_file.write_text(json.dumps(org.__dict__))
    _msp(folder.org_dir(org) / "msp", org.domain)
    _msp(folder.orderer_org_dir(org) / "msp", org.orderer_domain)
    tls = folder.orderer_dir(org) / "tls"
    tls.mkdir(parents=True)
    (tls / "server.crt").write_text(CERT)
    (tls / "server.key").write_text(KEY)
    return folder


def _definitions(tmp_path: Path, count: int) -> list[Path]:
    paths = []
    for number in range(1, count + 1):
        out = tmp_path / "handed-over" / f"org{number}.json"
        paths.append(write_definition(_org(tmp_path, number), out))
    return paths


def test_crypto_config_names_only_this_org_with_its_address_as_san() -> None:
    config = yaml.safe_load(render_org_crypto_config(OrgSettings("Org2", "10.1.2.3", 27050)))
    assert [o["Domain"] for o in config["PeerOrgs"]] == ["org2.fedlora.local"]
    assert [o["Domain"] for o in config["OrdererOrgs"]] == ["orderer.org2.fedlora.local"]
    assert "10.1.2.3" in config["OrdererOrgs"][0]["Specs"][0]["SANS"]
    assert "10.1.2.3" in config["PeerOrgs"][0]["Template"]["SANS"]


def test_definition_holds_certificates_and_endpoints_but_no_private_key(tmp_path: Path) -> None:
    definition = export_definition(_org(tmp_path, 1))
    assert definition["peer"] == "10.0.0.1:27060"
    assert definition["orderer"] == "10.0.0.1:27050"
    assert set(definition["msp"]) == {
        "cacerts/ca.org1.fedlora.local-cert.pem",
        "tlscacerts/tlsca.org1.fedlora.local-cert.pem",
        "config.yaml",
    }
    assert "PRIVATE KEY" not in json.dumps(definition)


def test_export_refuses_a_private_key_outside_the_keystore(tmp_path: Path) -> None:
    folder = _org(tmp_path, 1)
    org = OrgSettings("Org1", "10.0.0.1", 27050)
    (folder.org_dir(org) / "msp" / "cacerts" / "stray.pem").write_text(KEY)
    with pytest.raises(FedloraError, match="private key"):
        export_definition(folder)


def test_configtx_has_every_member_a_raft_consenter_each_and_majority_policies(
    tmp_path: Path,
) -> None:
    definitions = _definitions(tmp_path, 3)
    here = OrgFolder(tmp_path / "org1")
    members = unpack_members(here, definitions)
    profile: dict[str, Any] = yaml.safe_load(render_consortium_configtx(here, members))["Profiles"][
        PROFILE
    ]
    consenters = profile["Orderer"]["EtcdRaft"]["Consenters"]
    assert [(c["Host"], c["Port"]) for c in consenters] == [
        (f"10.0.0.{n}", 27050) for n in (1, 2, 3)
    ]
    assert [o["ID"] for o in profile["Orderer"]["Organizations"]] == [
        f"Org{n}OrdererMSP" for n in (1, 2, 3)
    ]
    application = profile["Application"]
    assert [o["ID"] for o in application["Organizations"]] == [f"Org{n}MSP" for n in (1, 2, 3)]
    assert application["Policies"]["Admins"]["Rule"] == "MAJORITY Admins"
    assert application["Policies"]["Endorsement"]["Rule"] == "MAJORITY Endorsement"
    assert application["Policies"]["LifecycleEndorsement"]["Rule"] == "MAJORITY Endorsement"
    # Only public material was unpacked.
    unpacked = [p.read_text() for p in (here.members_dir()).rglob("*") if p.is_file()]
    assert unpacked and not any("PRIVATE KEY" in text for text in unpacked)


def test_genesis_needs_three_members(tmp_path: Path, fake_install: FabricInstall) -> None:
    definitions = _definitions(tmp_path, 2)
    with pytest.raises(FedloraError, match="at least 3"):
        create_genesis(
            OrgFolder(tmp_path / "org1"), definitions, "fedlora", tmp_path / "b", fake_install
        )


def test_majority_starts_at_the_given_member_and_wraps(tmp_path: Path) -> None:
    members = [read_member(path) for path in _definitions(tmp_path, 4)]
    chosen = majority(members, "Org4MSP")
    assert [m.msp_id for m in chosen] == ["Org4MSP", "Org1MSP", "Org2MSP"]


def test_a_file_that_is_not_a_definition_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"format": "other"}')
    with pytest.raises(FedloraError, match="not a fedlora org definition"):
        read_member(path)


def test_an_org_package_makes_its_peer_dial_the_chaincode_server_with_mutual_tls() -> None:
    tls = {"root_cert": CERT, "client_cert": CERT, "client_key": KEY}
    package = ccaas_package("fedlora_1.0", "10.0.0.1:27053", tls)
    with tarfile.open(fileobj=io.BytesIO(package)) as outer:
        code = outer.extractfile("code.tar.gz")
        assert code is not None
        with tarfile.open(fileobj=io.BytesIO(code.read())) as inner:
            member = inner.extractfile("connection.json")
            assert member is not None
            connection = json.loads(member.read())
    assert connection["tls_required"] is True
    assert connection["client_auth_required"] is True
    assert connection["root_cert"] == CERT


def test_an_orgs_processes_get_the_settings_of_a_placed_single_host_network() -> None:
    """One definition of each process's environment: only paths and addresses differ."""
    org, folder = OrgSettings("Org1", "10.0.0.1", 27050), OrgFolder(Path("/srv/org1"))
    install = FabricInstall(Path("/opt/fabric"))
    plan = plan_network(3, 41000, "fedlora", NetworkDefaults(),
                        Placement("10.0.0.9", (OrgHost("10.0.0.1"),)))  # fmt: skip
    layout = NetworkLayout(Path("/srv/net"))

    placed = plan.orgs[0]
    assert (
        orderer_env(folder, org, install).keys()
        == orderer_environment(plan, layout, install).keys()
    )
    assert peer_env(folder, org, install).keys() == peer_environment(placed, layout, install).keys()
    assert (
        admin_env(folder, org, install).keys() == admin_environment(placed, layout, install).keys()
    )
    assert peer_env(folder, org, install)["CORE_PEER_GOSSIP_ALIVEEXPIRATIONTIMEOUT"] == "10s"
