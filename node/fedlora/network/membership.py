"""Adding a hospital to a running consortium: a channel configuration update, signed by a
majority of the member admins, each on its own host, the signatures travelling as files.

    propose  (a member)    fetch the channel's config, add the new org's application group
                           (configtxgen -printOrg), compute the update (configtxlator) and wrap
                           it in an unsigned envelope: the file handed to the signers
    sign     (each admin)  sign the envelope with the org admin's key (peer channel
                           signconfigtx on a copy) and keep only that signature, as a file
    submit   (a member)    put the signatures into the envelope and send it to the orderer

Removing an org is the same exchange with the update from `propose_removal`.

The new org's orderer becomes one more Raft consenter and joins with the latest config block.
"""

from __future__ import annotations

import base64
import copy
import json
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from fedlora.errors import FedloraError
from fedlora.fileio import write_atomic
from fedlora.network.consortium import join_orderer, orderer_flags
from fedlora.network.env import base_environment
from fedlora.network.genesis import application_org, orderer_org
from fedlora.network.install import FabricInstall
from fedlora.network.members import Member, read_member, unpack_members
from fedlora.network.org import OrgFolder, OrgSettings, load_settings
from fedlora.network.org_nodes import admin_env
from fedlora.network.tools import ToolResult, retry_tool, run_tool

_CONFIG_UPDATE = 2  # common.HeaderType.CONFIG_UPDATE
_NOT_YET = ("FORBIDDEN", "SERVICE_UNAVAILABLE", "NOT_FOUND", "connection refused")
FETCH_DEADLINE_S = 30.0


class _Tools:
    """configtxlator, configtxgen and the peer CLI as one org's admin, in a scratch folder."""

    def __init__(self, folder: OrgFolder, install: FabricInstall, scratch: Path) -> None:
        self.folder, self.install, self.scratch = folder, install, scratch
        self.org: OrgSettings = load_settings(folder)
        self.env = base_environment(install, folder.layout)

    def run(self, program: str, args: list[str], what: str) -> str:
        return run_tool([str(self.install.binary(program)), *args], self.env, what).stdout

    def peer(self, args: list[str], what: str) -> ToolResult:
        env = admin_env(self.folder, self.org, self.install)
        return run_tool([str(self.install.binary("peer")), *args], env, what)

    def decode(self, path: Path, kind: str) -> Any:
        out = self.scratch / f"{path.name}.json"
        args = ["proto_decode", "--input", str(path), "--type", kind, "--output", str(out)]
        self.run("configtxlator", args, f"decode {path.name}")
        return json.loads(out.read_text(encoding="utf-8"))

    def encode(self, document: Any, kind: str, name: str) -> Path:
        source, out = self.scratch / f"{name}.json", self.scratch / f"{name}.pb"
        source.write_text(json.dumps(document), encoding="utf-8")
        args = ["proto_encode", "--input", str(source), "--type", kind, "--output", str(out)]
        self.run("configtxlator", args, f"encode {name}")
        return out


def _print_org(tools: _Tools, entry: dict[str, Any], name: str) -> Any:
    """An org's config group as ``configtxgen -printOrg`` prints it (MSP, policies, and the
    orderer endpoints when the entry has some)."""
    config_dir = tools.scratch / f"printorg-{name}"
    write_atomic(config_dir / "configtx.yaml", json.dumps({"Organizations": [entry]}) + "\n")
    args = ["-configPath", str(config_dir), "-printOrg", name]
    return json.loads(tools.run("configtxgen", args, f"describe {name}"))


def _add_member(tools: _Tools, config: Any, member: Member) -> None:
    """Add ``member``'s application org (with its anchor peer) and its orderer org, and make
    its orderer a Raft consenter, in ``config`` (configtxlator's JSON)."""
    groups = config["channel_group"]["groups"]
    application = application_org(tools.folder, member)
    group = _print_org(tools, application, member.msp_id)
    # -printOrg describes an orderer org: it leaves the anchor peers out.
    anchors = [{"host": a["Host"], "port": a["Port"]} for a in application["AnchorPeers"]]
    group["values"]["AnchorPeers"] = {
        "mod_policy": "Admins",
        "value": {"anchor_peers": anchors},
        "version": "0",
    }
    groups["Application"]["groups"][member.msp_id] = group
    orderer_entry = orderer_org(tools.folder, member)
    groups["Orderer"]["groups"][member.orderer_msp_id] = _print_org(
        tools, orderer_entry, member.orderer_msp_id
    )
    host, port = member.orderer.rsplit(":", 1)
    cert = base64.b64encode(member.definition["orderer_tls_cert"].encode()).decode()
    metadata = groups["Orderer"]["values"]["ConsensusType"]["value"]["metadata"]
    metadata["consenters"].append(
        {"host": host, "port": int(port), "client_tls_cert": cert, "server_tls_cert": cert}
    )


def _remove_member(config: Any, member: Member) -> None:
    """Remove ``member``'s application org, its orderer org and its Raft consenter."""
    groups = config["channel_group"]["groups"]
    del groups["Application"]["groups"][member.msp_id]
    groups["Orderer"]["groups"].pop(member.orderer_msp_id, None)
    cert = base64.b64encode(member.definition["orderer_tls_cert"].encode()).decode()
    metadata = groups["Orderer"]["values"]["ConsensusType"]["value"]["metadata"]
    metadata["consenters"] = [c for c in metadata["consenters"] if c["client_tls_cert"] != cert]


def propose_addition(
    folder: OrgFolder, new_definition: Path, channel: str, out: Path, install: FabricInstall
) -> Path:
    """Write the unsigned envelope of the config update that adds the org of
    ``new_definition`` to ``channel``: its peer org, its orderer org and its orderer as one
    more Raft consenter (the channel config is fetched through this org's orderer).

    Raises
    ------
    FedloraError
        When the org is already a member of the channel.
    """
    (member,) = unpack_members(folder, [new_definition])

    def change(tools: _Tools, config: Any) -> None:
        if member.msp_id in config["channel_group"]["groups"]["Application"]["groups"]:
            raise FedloraError(f"{member.msp_id} is already a member of {channel}", "")
        _add_member(tools, config, member)

    return _propose(folder, channel, out, install, change)


def propose_removal(
    folder: OrgFolder, definition: Path, channel: str, out: Path, install: FabricInstall
) -> Path:
    """Write the unsigned envelope of the config update that removes the org of
    ``definition`` (its peer org, orderer org and consenter) from ``channel``.

    Raises
    ------
    FedloraError
        When the org is not a member, or is this org itself.
    """
    member = read_member(definition)
    if member.msp_id == load_settings(folder).msp_id:
        raise FedloraError("an org cannot propose its own removal here", "ask another member")

    def change(_: _Tools, config: Any) -> None:
        if member.msp_id not in config["channel_group"]["groups"]["Application"]["groups"]:
            raise FedloraError(f"{member.msp_id} is not a member of {channel}", "")
        _remove_member(config, member)

    return _propose(folder, channel, out, install, change)


def _propose(
    folder: OrgFolder,
    channel: str,
    out: Path,
    install: FabricInstall,
    change: Callable[[_Tools, Any], None],
) -> Path:
    """Fetch the channel config, apply ``change`` to a copy, and write the unsigned envelope
    of the update between the two (configtxlator compute_update)."""
    with tempfile.TemporaryDirectory(prefix="fedlora-update-") as scratch:
        tools = _Tools(folder, install, Path(scratch))
        block_file = tools.scratch / "config.block"
        fetch = ["channel", "fetch", "config", str(block_file), "-c", channel]
        tools.peer([*fetch, *orderer_flags(folder, tools.org)], "fetch the channel config")
        block = tools.decode(block_file, "common.Block")
        config = block["data"]["data"][0]["payload"]["data"]["config"]
        updated = copy.deepcopy(config)
        change(tools, updated)
        original_pb = tools.encode(config, "common.Config", "original")
        updated_pb = tools.encode(updated, "common.Config", "updated")
        update_pb = tools.scratch / "update.pb"
        args = ["compute_update", "--channel_id", channel, "--original", str(original_pb)]
        args += ["--updated", str(updated_pb), "--output", str(update_pb)]
        tools.run("configtxlator", args, "compute the config update")
        update = tools.decode(update_pb, "common.ConfigUpdate")
        envelope = {
            "payload": {
                "header": {"channel_header": {"channel_id": channel, "type": _CONFIG_UPDATE}},
                "data": {"config_update": update, "signatures": []},
            }
        }
        encoded = tools.encode(envelope, "common.Envelope", "envelope")
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(encoded, out)
    return out


def sign_update(folder: OrgFolder, envelope: Path, out: Path, install: FabricInstall) -> Path:
    """This org's admin signs the update; only the signature is written, as a JSON file."""
    with tempfile.TemporaryDirectory(prefix="fedlora-sign-") as scratch:
        tools = _Tools(folder, install, Path(scratch))
        copy_path = tools.scratch / "signed.pb"
        shutil.copyfile(envelope, copy_path)
        sign = ["channel", "signconfigtx", "-f", str(copy_path)]
        # The member admin signs for the application group, the orderer org's admin for the
        # orderer group (a new org and a new consenter touch both).
        tools.peer(sign, "sign the config update as the member admin")
        orderer_admin = admin_env(tools.folder, tools.org, tools.install)
        orderer_admin["CORE_PEER_LOCALMSPID"] = tools.org.orderer_msp_id
        orderer_admin["CORE_PEER_MSPCONFIGPATH"] = str(folder.orderer_admin_msp(tools.org))
        peer = str(install.binary("peer"))
        run_tool([peer, *sign], orderer_admin, "sign the config update as the orderer admin")
        signed = tools.decode(copy_path, "common.Envelope")
        signatures = signed["payload"]["data"]["signatures"][-2:]
        document = {"signer": tools.org.msp_id, "signatures": signatures}
        write_atomic(out, json.dumps(document) + "\n")
    return out


def submit_update(
    folder: OrgFolder,
    envelope: Path,
    signatures: Sequence[Path],
    channel: str,
    install: FabricInstall,
) -> None:
    """Put the signature files into the envelope and send it through this org's orderer (the
    peer CLI adds this org's admin signature too)."""
    with tempfile.TemporaryDirectory(prefix="fedlora-submit-") as scratch:
        tools = _Tools(folder, install, Path(scratch))
        document = tools.decode(envelope, "common.Envelope")
        document["payload"]["data"]["signatures"] = [
            signature
            for path in signatures
            for signature in json.loads(path.read_text(encoding="utf-8"))["signatures"]
        ]
        signed = tools.encode(document, "common.Envelope", "signed")
        args = ["channel", "update", "-f", str(signed), "-c", channel]
        tools.peer([*args, *orderer_flags(folder, tools.org)], "submit the config update")


def join_through(folder: OrgFolder, via: Path, channel: str, install: FabricInstall) -> None:
    """A newly added org's peer joins: the genesis block is fetched from the orderer of the
    member ``via`` (a definition file), and the peer joins with it."""
    with tempfile.TemporaryDirectory(prefix="fedlora-join-") as scratch:
        tools = _Tools(folder, install, Path(scratch))
        (member,) = unpack_members(folder, [via])
        block = folder.channel_block(channel)
        block.parent.mkdir(parents=True, exist_ok=True)
        fetch = ["channel", "fetch", "0", str(block), "-c", channel]
        fetch += orderer_flags(folder, tools.org, member)
        # The orderer accepted the update; until it has ordered it, the new org may not read.
        retry_tool(
            lambda: tools.peer(fetch, "fetch block 0"),
            lambda error: any(mark in error.output for mark in _NOT_YET),
            FETCH_DEADLINE_S,
        )
        tools.peer(["channel", "join", "-b", str(block)], "join the peer")
        # The org's orderer, now a consenter, joins with the latest config block and catches up
        # from the others.
        latest = tools.scratch / "config.block"
        fetch = ["channel", "fetch", "config", str(latest), "-c", channel]
        tools.peer([*fetch, *orderer_flags(folder, tools.org, member)], "fetch the config block")
        join_orderer(folder, tools.org, latest, channel, install)
