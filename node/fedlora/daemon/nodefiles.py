"""Create a node folder: identity issued by the org's CAs, trusted member CAs, and node.toml.

Used by `fedlora node init`. The folder is self-contained (paths in node.toml are relative to
it), so an operator can copy it to the machine the node will run on.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import tomli_w

from fedlora.enrollment import IssuedNode, issue_node_identity
from fedlora.errors import FedloraError
from fedlora.fileio import write_atomic
from fedlora.network import NetworkLayout
from fedlora.network.state import NetworkState


@dataclass(frozen=True)
class NodeInitRequest:
    """What the operator asked for."""

    name: str
    msp_id: str
    org_dir: Path  # cryptogen's peerOrganizations/<domain> folder (holds ca/ and tlsca/)
    member_org_dirs: tuple[Path, ...]  # every member org, for the mTLS trust list
    gateway: str
    gateway_tls_ca: Path
    channel: str
    listen: str
    endpoint: str
    model: str = "smollm2"
    site: str = ""


# A node name becomes a folder name and part of a certificate's CN: letters, digits, - and _.
_NODE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")


def request_for_org(
    state: NetworkState,
    layout: NetworkLayout,
    org_number: int,
    name: str,
    listen: str = "",
    model: str = "smollm2",
    site: str = "",
) -> NodeInitRequest:
    """A node of member org ``org_number`` (1-based) of the network in ``layout``.

    Without ``listen``, the node's adapter exchange gets a port just above the network's block.
    """
    if not _NODE_NAME.match(name):
        raise FedloraError(
            f"node name {name!r} is not allowed",
            "use up to 63 letters, digits, '-' or '_', starting with a letter or digit",
        )
    orgs = state.plan.orgs
    if not 1 <= org_number <= len(orgs):
        raise FedloraError(f"--org {org_number} is not a member org", f"use 1..{len(orgs)}")
    member = orgs[org_number - 1]
    listen = listen or f"127.0.0.1:{state.plan.base_port + 400 + org_number * 10}"
    return NodeInitRequest(
        name=name,
        msp_id=member.msp_id,
        org_dir=layout.org_dir(member),
        member_org_dirs=tuple(layout.org_dir(o) for o in orgs),
        gateway=member.peer_address,
        gateway_tls_ca=layout.peer_tls_ca(member),
        channel=state.plan.channel,
        listen=listen,
        endpoint=listen,
        model=model,
        site=site,
    )


def init_node_folder(request: NodeInitRequest, out_dir: Path) -> IssuedNode:
    """Write ``out_dir`` for a new node; refuse to touch an existing node.toml."""
    config_path = out_dir / "node.toml"
    if config_path.exists():
        raise FedloraError(f"{config_path} already exists", "choose another --out folder")
    host = request.endpoint.rsplit(":", 1)[0]
    issued = issue_node_identity(request.org_dir, request.name, [host], out_dir)
    trust = out_dir / "member-cas"
    trust.mkdir(exist_ok=True)
    for org_dir in request.member_org_dirs:
        for cert in sorted((org_dir / "tlsca").glob("*-cert.pem")):
            shutil.copyfile(cert, trust / cert.name)
    shutil.copyfile(request.gateway_tls_ca, out_dir / "gateway-tls-ca.pem")
    write_atomic(config_path, render_node_toml(request))
    return issued


def render_node_toml(request: NodeInitRequest) -> str:
    """The node.toml text for ``request`` (paths relative to the node folder).

    tomli-w writes every value as a quoted, escaped string, so no value can end its line and
    add keys of its own.
    """
    document = {
        "node": {"name": request.name, "data_dir": "state"},
        "identity": {"msp_id": request.msp_id, "msp_dir": "msp", "tls_dir": "tls"},
        "fabric": {
            "gateway": request.gateway,
            "gateway_tls_ca": "gateway-tls-ca.pem",
            "channel": request.channel,
            "chaincode": "fedlora",
            "member_cas_dir": "member-cas",
        },
        "exchange": {"listen": request.listen, "endpoint": request.endpoint},
        "training": {"model": request.model, "dataset": "icd10", "site": request.site},
    }
    return "# fedlora node configuration (see `fedlora node --help`)\n" + tomli_w.dumps(document)
