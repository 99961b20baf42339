"""Rendering cryptogen/configtxgen input and patching Fabric's sample node configs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from fedlora.errors import FedloraError
from fedlora.fileio import write_atomic
from fedlora.network.configtx import PROFILE
from fedlora.network.install import FabricInstall
from fedlora.network.layout import NetworkLayout
from fedlora.network.render import (
    patch_core_yaml,
    patch_orderer_yaml,
    render_channel_configtx,
    render_crypto_config,
    write_configs,
)
from fedlora.network.topology import NetworkDefaults, NetworkPlan, plan_network

SAMPLES = Path(__file__).parent / "samples"
BUILDERS = Path("/opt/fedlora/fabric/builders/ccaas")


def _plan(orgs: int = 3) -> NetworkPlan:
    return plan_network(orgs, 27050, "fedlora", NetworkDefaults())


def _configtx(plan: NetworkPlan, root: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(render_channel_configtx(plan, NetworkLayout(root)))
    return loaded


def test_crypto_config_has_orderer_org_and_one_org_per_member_with_node_ous_and_sans() -> None:
    config = yaml.safe_load(render_crypto_config(_plan(4)))

    orderer = config["OrdererOrgs"][0]
    assert orderer["EnableNodeOUs"] is True
    assert orderer["Specs"][0]["Hostname"] == "orderer"
    assert set(orderer["Specs"][0]["SANS"]) == {"localhost", "127.0.0.1"}
    peers = config["PeerOrgs"]
    assert [org["Domain"] for org in peers] == [f"org{i}.fedlora.local" for i in range(1, 5)]
    assert all(org["EnableNodeOUs"] and org["Template"]["Count"] == 1 for org in peers)
    assert all(set(org["Template"]["SANS"]) == {"localhost", "127.0.0.1"} for org in peers)


def test_configtx_profile_lists_every_member_with_its_anchor_peer(tmp_path: Path) -> None:
    plan = _plan(3)
    profile = _configtx(plan, tmp_path)["Profiles"][PROFILE]

    members = profile["Application"]["Organizations"]
    assert [org["ID"] for org in members] == ["Org1MSP", "Org2MSP", "Org3MSP"]
    assert [org["AnchorPeers"][0] for org in members] == [
        {"Host": "127.0.0.1", "Port": org.peer_port} for org in plan.orgs
    ]
    assert members[1]["MSPDir"] == str(tmp_path / "crypto/peerOrganizations/org2.fedlora.local/msp")
    assert members[2]["Policies"]["Endorsement"]["Rule"] == "OR('Org3MSP.peer')"
    assert profile["Orderer"]["Organizations"][0]["OrdererEndpoints"] == ["127.0.0.1:27050"]


def test_configtx_needs_a_majority_and_uses_one_raft_consenter(tmp_path: Path) -> None:
    profile = _configtx(_plan(3), tmp_path)["Profiles"][PROFILE]

    policies = profile["Application"]["Policies"]
    assert policies["Endorsement"] == {"Type": "ImplicitMeta", "Rule": "MAJORITY Endorsement"}
    assert policies["LifecycleEndorsement"]["Rule"] == "MAJORITY Endorsement"
    orderer = profile["Orderer"]
    assert orderer["OrdererType"] == "etcdraft"
    assert orderer["BatchTimeout"] == "250ms"
    consenters = orderer["EtcdRaft"]["Consenters"]
    assert len(consenters) == 1
    assert (consenters[0]["Host"], consenters[0]["Port"]) == ("127.0.0.1", 27050)
    assert consenters[0]["ServerTLSCert"].endswith("orderer.fedlora.local/tls/server.crt")


def test_configtx_capabilities_are_application_v2_5_and_channel_v2_0(tmp_path: Path) -> None:
    profile = _configtx(_plan(1), tmp_path)["Profiles"][PROFILE]

    assert profile["Application"]["Capabilities"] == {"V2_5": True}
    assert profile["Capabilities"] == {"V2_0": True}
    assert profile["Orderer"]["Capabilities"] == {"V2_0": True}


def test_core_yaml_patch_blanks_vm_endpoint_and_points_the_builder_at_an_absolute_path() -> None:
    original = (SAMPLES / "core-2.5.yaml").read_text()

    patched_text = patch_core_yaml(original, BUILDERS)
    patched = yaml.safe_load(patched_text)

    assert patched["vm"]["endpoint"] is None
    assert patched["vm"]["docker"]["attachStdout"] is False
    assert patched["chaincode"]["externalBuilders"] == [
        {
            "name": "ccaas_builder",
            "path": str(BUILDERS),
            "propagateEnvironment": ["CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG"],
        }
    ]
    untouched = yaml.safe_load(original)
    for section in ("peer", "ledger", "operations"):
        assert patched[section] == untouched[section]
    assert patched["chaincode"]["installTimeout"] == "300s"
    # The 2.5 layout keeps its 4-space indentation and its comments.
    assert "\n    endpoint:\n" in patched_text
    assert "# Endpoint of the vm management system." in patched_text


def test_core_yaml_patch_also_fits_the_two_space_layout() -> None:
    patched = yaml.safe_load(patch_core_yaml((SAMPLES / "core-3.1.yaml").read_text(), BUILDERS))

    assert patched["vm"]["endpoint"] is None
    assert patched["chaincode"]["externalBuilders"][0]["path"] == str(BUILDERS)
    assert patched["chaincode"]["installTimeout"] == "300s"


def test_core_yaml_patch_refuses_a_relative_builder_path() -> None:
    with pytest.raises(FedloraError, match="relative"):
        patch_core_yaml((SAMPLES / "core-2.5.yaml").read_text(), Path("builders/ccaas"))


def test_core_yaml_without_a_vm_section_is_a_clear_error() -> None:
    with pytest.raises(FedloraError, match=r"core.yaml has no 'vm.endpoint' key"):
        patch_core_yaml("peer:\n    id: x\nchaincode:\n    externalBuilders: []\n", BUILDERS)


def test_orderer_yaml_patch_disables_the_system_channel_bootstrap() -> None:
    original = (SAMPLES / "orderer-2.5.yaml").read_text()

    patched = yaml.safe_load(patch_orderer_yaml(original))

    assert patched["General"]["BootstrapMethod"] == "none"
    assert patched["ChannelParticipation"]["Enabled"] is True
    assert patched["ChannelParticipation"]["MaxRequestBodySize"] == "1 MB"
    assert patched["Admin"] == yaml.safe_load(original)["Admin"]


def test_write_configs_writes_four_files_and_the_ccaas_builder(
    tmp_path: Path, fake_install: FabricInstall
) -> None:
    layout = NetworkLayout(tmp_path / "net")

    write_configs(_plan(2), layout, fake_install)

    written = sorted(path.name for path in layout.config_dir.iterdir())
    expected = ["builders", "configtx.yaml", "core.yaml", "crypto-config.yaml", "orderer.yaml"]
    assert written == expected
    core = yaml.safe_load((layout.config_dir / "core.yaml").read_text())
    assert core["chaincode"]["externalBuilders"][0]["path"] == str(layout.builder_dir)
    for program in ("detect", "build", "release"):
        assert (layout.builder_dir / "bin" / program).stat().st_mode & 0o111


def test_write_atomic_leaves_no_temporary_file_behind(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "file.txt"

    write_atomic(target, "one")
    write_atomic(target, b"two")

    assert target.read_text() == "two"
    assert [path.name for path in target.parent.iterdir()] == ["file.txt"]
