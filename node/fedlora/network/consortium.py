"""A consortium formed from the members' public definitions, each step run by one org on its host.

org init       (each host)   its own CA, TLS CA, admin, peer and orderer identities
org export     (each host)   its public definition, one JSON file, handed to the others
genesis        (any host)    the channel's genesis block from the definitions: every member
                             org, MAJORITY admin/endorsement policies, one Raft consenter
                             per org's orderer
org start      (each host)   its orderer and peer
org join       (each host)   its orderer (osnadmin) and its peer join with the block
org deploy     (each host)   install its own CCaaS package, start its chaincode server,
                             approve the chaincode definition on its own peer
commit         (any member)  commit the definition, endorsed by a majority of the peers

This module holds the steps run with the peer CLI and osnadmin (join, deploy, commit, invoke);
the definitions are read by members.py, the genesis block is made by genesis.py, and members
are added or removed by membership.py.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from fedlora.errors import FedloraError
from fedlora.fileio import write_atomic
from fedlora.network import chaincode_lifecycle
from fedlora.network.chaincode_lifecycle import AdminRun, approve, commit, is_warming_up
from fedlora.network.env import base_environment
from fedlora.network.install import FabricInstall
from fedlora.network.members import Member, unpack_members
from fedlora.network.org import (
    CHAINCODE,
    ORDERER,
    ORDERER_ADMIN,
    OrgFolder,
    OrgSettings,
    load_settings,
)
from fedlora.network.org_nodes import admin_env, chaincode_spec, launch
from fedlora.network.package import ccaas_package, peer_tls_pems
from fedlora.network.tools import ToolError, ToolResult, retry_tool, run_tool
from fedlora.network.topology import ChaincodeSettings, validate_channel_name


def _as_admin(
    folder: OrgFolder, org: OrgSettings, install: FabricInstall, args: list[str], what: str
) -> ToolResult:
    return run_tool([str(install.binary("peer")), *args], admin_env(folder, org, install), what)


def _admin(folder: OrgFolder, org: OrgSettings, install: FabricInstall) -> AdminRun:
    """The peer CLI as the org's admin against its own peer."""
    return lambda args, what: _as_admin(folder, org, install, args, f"{what} as {org.msp_id}")


def join(folder: OrgFolder, block: Path, install: FabricInstall) -> None:
    """The org's own orderer (osnadmin, on its own admin endpoint) and peer join the channel."""
    org = load_settings(folder)
    data = block.read_bytes()
    channel = _channel_of(block)
    write_atomic(folder.channel_block(channel), data)
    local = str(folder.channel_block(channel))
    join_orderer(folder, org, Path(local), channel, install)
    try:
        _as_admin(folder, org, install, ["channel", "join", "-b", local], "join the peer")
    except ToolError as error:
        if "already exists" not in error.output:
            raise


def join_orderer(
    folder: OrgFolder, org: OrgSettings, block: Path, channel: str, install: FabricInstall
) -> None:
    """osnadmin: the org's own orderer joins ``channel`` with a config block (the genesis
    block, or a later one for an orderer added to a running channel)."""
    env = base_environment(install, folder.layout)
    osnadmin = [str(install.binary("osnadmin")), "channel", "join", "--channelID", channel]
    osnadmin += ["--config-block", str(block), "-o", org.address(ORDERER_ADMIN)]
    try:
        run_tool(osnadmin, env, f"join {org.name}'s orderer to {channel}")
    except ToolError as error:
        if "already exists" not in error.output:
            raise


def _channel_of(block: Path) -> str:
    """The channel id a genesis block is named after (``<channel>.block``)."""
    name = block.name.removesuffix(".block")
    validate_channel_name(name)
    return name


def orderer_flags(folder: OrgFolder, org: OrgSettings, via: Member | None = None) -> list[str]:
    """``-o ... --tls --cafile ...``: order through the org's own orderer, or through the
    orderer of member ``via`` (an org added later, whose orderer is not a consenter)."""
    if via is not None:
        ca = via.orderer_tls_ca(folder)
        return ["-o", via.orderer, "--tls", "--cafile", str(ca)]
    ca = folder.orderer_dir(org) / "tls" / "ca.crt"
    return ["-o", org.address(ORDERER), "--tls", "--cafile", str(ca)]


def _via(folder: OrgFolder, via: Path | None) -> Member | None:
    return None if via is None else unpack_members(folder, [via])[0]


def deploy_chaincode(
    folder: OrgFolder,
    channel: str,
    install: FabricInstall,
    chaincode: ChaincodeSettings | None = None,
    deadline_s: float = 60.0,
    via: Path | None = None,
) -> str:
    """Install this org's package on its own peer, start its own chaincode server (mutual TLS)
    and approve the definition for the org; return the package id."""
    org = load_settings(folder)
    settings = chaincode or ChaincodeSettings()
    package_id = install_package(folder, org, install, settings)
    launch(folder, chaincode_spec(folder, org, install, package_id))
    orderer = orderer_flags(folder, org, _via(folder, via))
    approve(_admin(folder, org, install), channel, settings, package_id, orderer, deadline_s)
    return package_id


def install_package(
    folder: OrgFolder, org: OrgSettings, install: FabricInstall, settings: ChaincodeSettings
) -> str:
    """Write the org's CCaaS package (its own chaincode server's address and the peer's TLS
    pair), install it on the org's peer (an identical earlier install is fine), return its id."""
    package = folder.package_file()
    texts = peer_tls_pems(folder.peer_dir(org) / "tls")
    label = f"{settings.name}_{settings.version}"
    write_atomic(package, ccaas_package(label, org.address(CHAINCODE), texts))
    chaincode_lifecycle.install(_admin(folder, org, install), package)
    args = ["lifecycle", "chaincode", "calculatepackageid", str(package)]
    found = _as_admin(folder, org, install, args, "compute the package id")
    return found.stdout.strip().splitlines()[-1].strip()


def _peer_flags(folder: OrgFolder, members: Sequence[Member]) -> list[str]:
    flags: list[str] = []
    for member in members:
        flags += ["--peerAddresses", member.peer]
        flags += ["--tlsRootCertFiles", str(member.peer_tls_ca(folder))]
    return flags


def majority(members: Sequence[Member], first_msp_id: str) -> list[Member]:
    """The member ``first_msp_id`` and the ones after it (wrapping): a strict majority."""
    ids = [member.msp_id for member in members]
    start = ids.index(first_msp_id) if first_msp_id in ids else 0
    ordered = [*members[start:], *members[:start]]
    return ordered[: len(members) // 2 + 1]


def commit_chaincode(
    folder: OrgFolder,
    definitions: Sequence[Path],
    channel: str,
    install: FabricInstall,
    endorsers: Sequence[str] = (),
    chaincode: ChaincodeSettings | None = None,
    deadline_s: float = 60.0,
    via: Path | None = None,
) -> None:
    """Commit the chaincode definition once a majority approved, endorsed by a majority of peers
    (``endorsers``: MSP ids; this org and the next ones when empty)."""
    org = load_settings(folder)
    members = _chosen(unpack_members(folder, definitions), org, endorsers)
    settings = chaincode or ChaincodeSettings()
    orderer = orderer_flags(folder, org, _via(folder, via))
    endorsing = _peer_flags(folder, members)
    commit(_admin(folder, org, install), channel, settings, orderer, endorsing, deadline_s)


def _chosen(members: list[Member], org: OrgSettings, endorsers: Sequence[str]) -> list[Member]:
    if not endorsers:
        return majority(members, org.msp_id)
    by_id = {member.msp_id: member for member in members}
    unknown = [msp for msp in endorsers if msp not in by_id]
    if unknown:
        raise FedloraError(f"no definition given for {', '.join(unknown)}", "pass its --member")
    return [by_id[msp] for msp in endorsers]


def invoke(
    folder: OrgFolder,
    definitions: Sequence[Path],
    channel: str,
    install: FabricInstall,
    function: str = ChaincodeSettings().ready_function,
    endorsers: Sequence[str] = (),
    deadline_s: float = 60.0,
    via: Path | None = None,
) -> str:
    """Submit ``function`` as the org's admin through its own orderer, endorsed by a majority,
    and return the CLI's result line once the endorsing peers committed it."""
    org = load_settings(folder)
    members = _chosen(unpack_members(folder, definitions), org, endorsers)
    call = json.dumps({"function": function, "Args": []}, separators=(",", ":"))
    args = [
        "chaincode",
        "invoke",
        *orderer_flags(folder, org, _via(folder, via)),
        *_peer_flags(folder, members),
    ]
    args += ["-C", channel, "-n", ChaincodeSettings().name, "-c", call, "--waitForEvent"]
    what = f"invoke {function}"
    run = _admin(folder, org, install)
    result = retry_tool(lambda: run(args, what), is_warming_up, deadline_s, pause_s=1.0)
    marks = [line for line in result.output.splitlines() if "result: status:" in line]
    if not marks:
        raise ToolError(f"cannot {what}: no invoke result printed", "", result.output)
    return marks[-1].split("result: ", 1)[1].strip()


__all__ = [
    "commit_chaincode",
    "deploy_chaincode",
    "invoke",
    "join",
    "join_orderer",
    "majority",
    "orderer_flags",
]
