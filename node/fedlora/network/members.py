"""The members' public definitions: one JSON file per org (from `org export`), read and
unpacked into an org's folder, where every other step finds the members' certificates.

<org dir>/members/<msp id>/msp/              the member org's channel MSP (certificates only)
                          /orderer_msp/      its orderer org's MSP
                          /orderer-tls.crt   its orderer's TLS certificate (its Raft identity)
                          /peer-tls-ca.pem, orderer-tls-ca.pem, tlsca/   TLS roots
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fedlora.errors import FedloraError
from fedlora.fileio import write_atomic
from fedlora.network.org import DEFINITION_FORMAT, OrgFolder


@dataclass(frozen=True)
class Member:
    """One member org as its definition file describes it."""

    name: str
    msp_id: str
    orderer_msp_id: str
    peer: str
    orderer: str
    definition: dict[str, Any]

    def folder(self, org_folder: OrgFolder) -> Path:
        """Where the definition is unpacked in an org's folder."""
        return org_folder.members_dir() / self.msp_id

    def orderer_tls_ca(self, org_folder: OrgFolder) -> Path:
        """The TLS root that verifies the member's orderer."""
        return self.folder(org_folder) / "orderer-tls-ca.pem"

    def peer_tls_ca(self, org_folder: OrgFolder) -> Path:
        """The TLS root that verifies the member's peer."""
        return self.folder(org_folder) / "peer-tls-ca.pem"


def read_member(path: Path) -> Member:
    """Read and check one definition file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise FedloraError(f"cannot read org definition {path}: {error}", "") from None
    if data.get("format") != DEFINITION_FORMAT:
        raise FedloraError(
            f"{path} is not a fedlora org definition", "make it with `fedlora network org export`"
        )
    try:
        return Member(
            name=str(data["name"]),
            msp_id=str(data["msp_id"]),
            orderer_msp_id=str(data["orderer_msp_id"]),
            peer=str(data["peer"]),
            orderer=str(data["orderer"]),
            definition=data,
        )
    except KeyError as error:
        raise FedloraError(f"org definition {path} lacks {error}", "export it again") from None


def _write_msp(target: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        write_atomic(target / relative, text)


def unpack_members(folder: OrgFolder, paths: Sequence[Path]) -> list[Member]:
    """Read the definitions and unpack each into ``members/<msp id>/`` of ``folder``."""
    members = [read_member(path) for path in paths]
    ids = [member.msp_id for member in members]
    if len(set(ids)) != len(ids):
        raise FedloraError(f"an org is given twice: {', '.join(ids)}", "pass each once")
    for member in members:
        target = member.folder(folder)
        _write_msp(target / "msp", member.definition["msp"])
        _write_msp(target / "orderer_msp", member.definition["orderer_msp"])
        write_atomic(target / "orderer-tls.crt", member.definition["orderer_tls_cert"])
        # One fixed name for the peer's TLS root, so callers need not know cryptogen's names.
        roots = [t for r, t in member.definition["msp"].items() if r.startswith("tlscacerts/")]
        write_atomic(member.peer_tls_ca(folder), roots[0])
        # cryptogen's name for an org's TLS CA folder, where a node's trust list looks.
        for relative, text in member.definition["msp"].items():
            if relative.startswith("tlscacerts/"):
                write_atomic(target / "tlsca" / Path(relative).name, text)
        orderer_msp = member.definition["orderer_msp"].items()
        roots = [t for r, t in orderer_msp if r.startswith("tlscacerts/")]
        write_atomic(member.orderer_tls_ca(folder), roots[0])
    return members


__all__ = ["Member", "read_member", "unpack_members"]
