"""configtxgen's input for a channel's genesis block, for both ways a network is formed.

`fedlora network up` (one orderer for every org, on one host) and `consortium genesis` (one
orderer per member org, from the members' definitions) describe their channel with the same
entries and the same policies: every member org in the application group with its peer as the
anchor peer, each orderer org in the orderer group, one Raft consenter per orderer, and a
majority of the members for admin changes, chaincode definitions and every transaction.
The document is JSON, which configtxgen reads as YAML.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

PROFILE = "FedloraChannel"
# Fabric's defaults (500 ms ticks, an election after 10-20 of them) leave a restarted orderer
# without a leader for 5-10 s; 100 ms ticks bring that to 1-2 s. A consortium whose orderers sit
# on distant hosts would raise TickInterval again.
RAFT_OPTIONS = {
    "TickInterval": "100ms",
    "ElectionTick": 10,
    "HeartbeatTick": 1,
    "MaxInflightBlocks": 5,
    "SnapshotIntervalSize": "16 MB",
}
# 250 ms keeps a submit-to-commit round trip short on a quiet network.
BATCH_TIMEOUT = "250ms"


def _split(address: str) -> tuple[str, int]:
    host, port = address.rsplit(":", 1)
    return host, int(port)


def _signature(rule: str) -> dict[str, str]:
    return {"Type": "Signature", "Rule": rule}


def _implicit(rule: str) -> dict[str, str]:
    return {"Type": "ImplicitMeta", "Rule": rule}


_READERS_WRITERS = {"Readers": _implicit("ANY Readers"), "Writers": _implicit("ANY Writers")}
_MAJORITY_ADMINS = _implicit("MAJORITY Admins")


def orderer_org_entry(msp_id: str, msp_dir: Path, endpoint: str) -> dict[str, Any]:
    """An orderer org: its MSP, member-only reading and writing, its admin, its orderer's
    ``host:port``."""
    member = _signature(f"OR('{msp_id}.member')")
    return {
        "Name": msp_id,
        "ID": msp_id,
        "MSPDir": str(msp_dir),
        "Policies": {
            "Readers": member,
            "Writers": member,
            "Admins": _signature(f"OR('{msp_id}.admin')"),
        },
        "OrdererEndpoints": [endpoint],
    }


def application_org_entry(msp_id: str, msp_dir: Path, peer: str) -> dict[str, Any]:
    """A member org: its MSP, its role policies, its peer (``host:port``) as the anchor peer."""
    host, port = _split(peer)
    return {
        "Name": msp_id,
        "ID": msp_id,
        "MSPDir": str(msp_dir),
        "Policies": {
            "Readers": _signature(f"OR('{msp_id}.admin', '{msp_id}.peer', '{msp_id}.client')"),
            "Writers": _signature(f"OR('{msp_id}.admin', '{msp_id}.client')"),
            "Admins": _signature(f"OR('{msp_id}.admin')"),
            "Endorsement": _signature(f"OR('{msp_id}.peer')"),
        },
        "AnchorPeers": [{"Host": host, "Port": port}],
    }


def consenter(endpoint: str, tls_cert: Path) -> dict[str, Any]:
    """A Raft consenter: an orderer's ``host:port`` and its TLS certificate (its identity)."""
    host, port = _split(endpoint)
    return {
        "Host": host,
        "Port": port,
        "ClientTLSCert": str(tls_cert),
        "ServerTLSCert": str(tls_cert),
    }


def _orderer_group(
    orderer_orgs: Sequence[dict[str, Any]], consenters: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "OrdererType": "etcdraft",
        "BatchTimeout": BATCH_TIMEOUT,
        "BatchSize": {
            "MaxMessageCount": 10,
            "AbsoluteMaxBytes": "99 MB",
            "PreferredMaxBytes": "512 KB",
        },
        "EtcdRaft": {"Consenters": list(consenters), "Options": RAFT_OPTIONS},
        "Organizations": list(orderer_orgs),
        "Policies": {
            **_READERS_WRITERS,
            "Admins": _MAJORITY_ADMINS,
            "BlockValidation": _implicit("ANY Writers"),
        },
        "Capabilities": {"V2_0": True},
    }


def render_configtx(
    orderer_orgs: Sequence[dict[str, Any]],
    consenters: Sequence[dict[str, Any]],
    member_orgs: Sequence[dict[str, Any]],
) -> str:
    """The configtx document of profile :data:`PROFILE`, from the entries above."""
    application = {
        "Organizations": list(member_orgs),
        # A chaincode definition and every transaction need a majority of the member orgs.
        "Policies": {
            **_READERS_WRITERS,
            "Admins": _MAJORITY_ADMINS,
            "LifecycleEndorsement": _implicit("MAJORITY Endorsement"),
            "Endorsement": _implicit("MAJORITY Endorsement"),
        },
        "Capabilities": {"V2_5": True},
    }
    profile = {
        "Policies": {**_READERS_WRITERS, "Admins": _MAJORITY_ADMINS},
        "Capabilities": {"V2_0": True},
        "Orderer": _orderer_group(orderer_orgs, consenters),
        "Application": application,
    }
    return json.dumps({"Profiles": {PROFILE: profile}}, indent=2) + "\n"
