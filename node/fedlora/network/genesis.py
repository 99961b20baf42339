"""The channel's genesis block, made on any one host from the members' definitions: every
member org in the application group, every member's orderer org in the orderer group, one Raft
consenter per member orderer, MAJORITY admin, endorsement and lifecycle policies (the document
configtx.py renders, as for `network up`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fedlora.errors import FedloraError
from fedlora.fileio import write_atomic
from fedlora.network.configtx import (
    PROFILE,
    application_org_entry,
    consenter,
    orderer_org_entry,
    render_configtx,
)
from fedlora.network.env import base_environment
from fedlora.network.install import FabricInstall
from fedlora.network.members import Member, unpack_members
from fedlora.network.org import OrgFolder
from fedlora.network.tools import run_tool
from fedlora.network.topology import validate_channel_name


def orderer_org(folder: OrgFolder, member: Member) -> dict[str, Any]:
    """The member's orderer org, its MSP as unpacked in ``folder``."""
    msp_dir = member.folder(folder) / "orderer_msp"
    return orderer_org_entry(member.orderer_msp_id, msp_dir, member.orderer)


def application_org(folder: OrgFolder, member: Member) -> dict[str, Any]:
    """The member org, its MSP as unpacked in ``folder``, its peer as the anchor peer."""
    return application_org_entry(member.msp_id, member.folder(folder) / "msp", member.peer)


def render_consortium_configtx(folder: OrgFolder, members: Sequence[Member]) -> str:
    """configtxgen input: every member in the application group, every member's orderer org in
    the orderer group, one Raft consenter per member orderer."""
    return render_configtx(
        [orderer_org(folder, m) for m in members],
        [consenter(m.orderer, m.folder(folder) / "orderer-tls.crt") for m in members],
        [application_org(folder, m) for m in members],
    )


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
