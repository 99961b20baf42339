"""The channel's genesis block, made on any one host from the members' definitions: every
member org in the application group, every member's orderer org in the orderer group, one Raft
consenter per member orderer, MAJORITY admin, endorsement and lifecycle policies.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fedlora.errors import FedloraError
from fedlora.fileio import write_atomic
from fedlora.network.env import base_environment
from fedlora.network.install import FabricInstall
from fedlora.network.members import Member, unpack_members
from fedlora.network.org import OrgFolder
from fedlora.network.tools import run_tool
from fedlora.network.topology import validate_channel_name

PROFILE = "FedloraConsortium"
_POLICY_MAJORITY = {"Type": "ImplicitMeta", "Rule": "MAJORITY Admins"}


def _split(address: str) -> tuple[str, int]:
    host, port = address.rsplit(":", 1)
    return host, int(port)


def _member_policies(msp_id: str) -> dict[str, Any]:
    def rule(roles: str) -> dict[str, str]:
        return {"Type": "Signature", "Rule": roles}

    return {
        "Readers": rule(f"OR('{msp_id}.admin', '{msp_id}.peer', '{msp_id}.client')"),
        "Writers": rule(f"OR('{msp_id}.admin', '{msp_id}.client')"),
        "Admins": rule(f"OR('{msp_id}.admin')"),
        "Endorsement": rule(f"OR('{msp_id}.peer')"),
    }


def orderer_org(folder: OrgFolder, member: Member) -> dict[str, Any]:
    """The member's orderer org as configtxgen reads it: its MSP (unpacked in ``folder``),
    member-only read/write, its admin, and its orderer's endpoint."""
    msp_id = member.orderer_msp_id
    member_rule = {"Type": "Signature", "Rule": f"OR('{msp_id}.member')"}
    return {
        "Name": msp_id,
        "ID": msp_id,
        "MSPDir": str(member.folder(folder) / "orderer_msp"),
        "Policies": {
            "Readers": member_rule,
            "Writers": member_rule,
            "Admins": {"Type": "Signature", "Rule": f"OR('{msp_id}.admin')"},
        },
        "OrdererEndpoints": [member.orderer],
    }


def application_org(folder: OrgFolder, member: Member) -> dict[str, Any]:
    """The member org as configtxgen reads it: its MSP, its role policies, its peer as the
    anchor peer."""
    host, port = _split(member.peer)
    return {
        "Name": member.msp_id,
        "ID": member.msp_id,
        "MSPDir": str(member.folder(folder) / "msp"),
        "Policies": _member_policies(member.msp_id),
        "AnchorPeers": [{"Host": host, "Port": port}],
    }


def _implicit(rule: str) -> dict[str, str]:
    return {"Type": "ImplicitMeta", "Rule": rule}


_READERS_WRITERS = {"Readers": _implicit("ANY Readers"), "Writers": _implicit("ANY Writers")}


def _orderer_group(folder: OrgFolder, members: Sequence[Member]) -> dict[str, Any]:
    """Raft with one consenter per member orderer (its TLS certificate is its identity)."""
    consenters = []
    for member in members:
        host, port = _split(member.orderer)
        cert = str(member.folder(folder) / "orderer-tls.crt")
        consenters.append(
            {"Host": host, "Port": port, "ClientTLSCert": cert, "ServerTLSCert": cert}
        )
    options = {
        "TickInterval": "100ms",
        "ElectionTick": 10,
        "HeartbeatTick": 1,
        "MaxInflightBlocks": 5,
        "SnapshotIntervalSize": "16 MB",
    }
    return {
        "OrdererType": "etcdraft",
        "BatchTimeout": "250ms",
        "BatchSize": {
            "MaxMessageCount": 10,
            "AbsoluteMaxBytes": "99 MB",
            "PreferredMaxBytes": "512 KB",
        },
        "EtcdRaft": {"Consenters": consenters, "Options": options},
        "Organizations": [orderer_org(folder, m) for m in members],
        "Policies": {
            **_READERS_WRITERS,
            "Admins": _POLICY_MAJORITY,
            "BlockValidation": _implicit("ANY Writers"),
        },
        "Capabilities": {"V2_0": True},
    }


def render_consortium_configtx(folder: OrgFolder, members: Sequence[Member]) -> str:
    """configtxgen input (JSON, which YAML reads): every member in the application group, every
    member's orderer org in the orderer group, one Raft consenter per member orderer."""
    application = {
        "Organizations": [application_org(folder, m) for m in members],
        "Policies": {
            **_READERS_WRITERS,
            "Admins": _POLICY_MAJORITY,
            "LifecycleEndorsement": _implicit("MAJORITY Endorsement"),
            "Endorsement": _implicit("MAJORITY Endorsement"),
        },
        "Capabilities": {"V2_5": True},
    }
    profile = {
        "Policies": {**_READERS_WRITERS, "Admins": _POLICY_MAJORITY},
        "Capabilities": {"V2_0": True},
        "Orderer": _orderer_group(folder, members),
        "Application": application,
    }
    return json.dumps({"Profiles": {PROFILE: profile}}, indent=2) + "\n"


def create_genesis(
    folder: OrgFolder,
    definitions: Sequence[Path],
    channel: str,
    out: Path,
    install: FabricInstall,
) -> Path:
    """The channel's genesis block from the members' definitions (configtxgen).

    Raises
    ------
    FedloraError
        When fewer than 3 definitions are given (Raft must survive losing one orderer).
    """
    validate_channel_name(channel)
    if len(definitions) < 3:
        raise FedloraError(
            f"a consortium needs at least 3 member orgs, got {len(definitions)}",
            "each runs one Raft orderer, so that losing any one host does not stop ordering",
        )
    members = unpack_members(folder, definitions)
    config_dir = folder.root / "consortium" / channel
    write_atomic(config_dir / "configtx.yaml", render_consortium_configtx(folder, members))
    out.parent.mkdir(parents=True, exist_ok=True)
    args = ["-configPath", str(config_dir), "-profile", PROFILE, "-channelID", channel]
    env = base_environment(install, folder.layout)
    run_tool(
        [str(install.binary("configtxgen")), *args, "-outputBlock", str(out)],
        env,
        "create the channel's genesis block",
    )
    return out


__all__ = [
    "PROFILE",
    "application_org",
    "create_genesis",
    "orderer_org",
    "render_consortium_configtx",
]
