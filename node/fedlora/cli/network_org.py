"""`fedlora network org ...` and `fedlora network consortium ...`: a consortium across hosts.

Each `org` command runs on the org's own host and touches only the org's folder; the
`consortium` commands take the members' public definition files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fedlora.cli.common import console, user_errors
from fedlora.daemon.nodefiles import NodeInitRequest, init_node_folder
from fedlora.errors import FedloraError
from fedlora.fileio import write_atomic
from fedlora.network import locate_fabric
from fedlora.network.consortium import commit_chaincode, deploy_chaincode, invoke, join
from fedlora.network.genesis import create_genesis
from fedlora.network.members import unpack_members
from fedlora.network.membership import (
    join_through,
    propose_addition,
    propose_removal,
    sign_update,
    submit_update,
)
from fedlora.network.org import (
    PEER,
    OrgFolder,
    OrgSettings,
    init_org,
    load_settings,
    write_definition,
)
from fedlora.network.org_nodes import launch, orderer_spec, peer_spec, stop_all

org_app = typer.Typer(
    help="One organisation's own keys and processes, on its own host.", no_args_is_help=True
)
consortium_app = typer.Typer(
    help="Form a consortium from the members' definitions.", no_args_is_help=True
)

OrgDir = Annotated[
    Path, typer.Option("--dir", help="The org's folder on its host.", file_okay=False)
]
Members = Annotated[
    list[Path],
    typer.Option(
        "--member",
        help="A member's definition file (from `org export`); repeat.",
        exists=True,
        dir_okay=False,
    ),
]
Channel = Annotated[str, typer.Option(help="Channel name.")]
Via = Annotated[
    Path | None,
    typer.Option(
        "--via",
        help="Order through this member's orderer (its definition file): "
        "for an org added later, whose orderer is not in the Raft set.",
        exists=True,
        dir_okay=False,
    ),
]
Update = Annotated[
    Path,
    typer.Option(
        "--update",
        help="The config update envelope from `propose-add`.",
        exists=True,
        dir_okay=False,
    ),
]
Endorsers = Annotated[
    list[str] | None,
    typer.Option(
        "--endorser",
        help="MSP id of an endorsing member (repeat) [default: this org "
        "and the next ones, a majority].",
    ),
]


@org_app.command("init")
def init_command(
    directory: OrgDir,
    name: Annotated[str, typer.Option(help="The org's name, e.g. Org1 (MSP id Org1MSP).")],
    ip: Annotated[str, typer.Option(help="This host's address, which the other members dial.")],
    base_port: Annotated[int, typer.Option(help="First of the org's ports (see README).")] = 27050,
) -> None:
    """Create the org's CA, TLS CA, admin, peer and orderer identities (keys stay in --dir)."""
    with user_errors():
        init_org(OrgFolder(directory.resolve()), OrgSettings(name, ip, base_port), locate_fabric())
    console.print(f"[bold green]{name}[/] created in {directory}", highlight=False)


@org_app.command("export")
def export_command(
    directory: OrgDir,
    out: Annotated[Path, typer.Option(help="The definition file to write.", dir_okay=False)],
) -> None:
    """Write the org's public definition (certificates, TLS roots, endpoints) as one file."""
    with user_errors():
        write_definition(OrgFolder(directory.resolve()), out)
    console.print(f"definition written to {out}", highlight=False)


@org_app.command("start")
def start_command(directory: OrgDir) -> None:
    """Start the org's orderer and peer on this host."""
    folder = OrgFolder(directory.resolve())
    with user_errors():
        org, install = load_settings(folder), locate_fabric()
        launch(folder, orderer_spec(folder, org, install))
        launch(folder, peer_spec(folder, org, install))
    console.print(f"{org.name}'s orderer and peer are running", highlight=False)


@org_app.command("join")
def join_command(
    directory: OrgDir,
    block: Annotated[
        Path | None,
        typer.Option(
            help="The channel's genesis block, <channel>.block.", exists=True, dir_okay=False
        ),
    ] = None,
    via: Via = None,
    channel: Channel = "fedlora",
) -> None:
    """Join the org's orderer (osnadmin) and peer to the channel with --block; an org added
    later joins only its peer, with block 0 fetched --via a member's orderer."""
    folder = OrgFolder(directory.resolve())
    with user_errors():
        if via is not None:
            join_through(folder, via, channel, locate_fabric())
        elif block is not None:
            join(folder, block, locate_fabric())
        else:
            raise FedloraError("nothing to join with", "pass --block, or --via for a new org")
    console.print("joined", highlight=False)


@org_app.command("deploy")
def deploy_command(directory: OrgDir, channel: Channel = "fedlora", via: Via = None) -> None:
    """Install the chaincode on the org's peer, start its chaincode server, approve for the org."""
    with user_errors():
        package_id = deploy_chaincode(
            OrgFolder(directory.resolve()), channel, locate_fabric(), via=via
        )
    console.print(f"approved; chaincode server runs package {package_id}", highlight=False)


@org_app.command("invoke")
def invoke_command(
    directory: OrgDir,
    member: Members,
    channel: Channel = "fedlora",
    endorser: Endorsers = None,
    via: Via = None,
) -> None:
    """Submit a transaction as the org's admin and wait until it committed."""
    folder = OrgFolder(directory.resolve())
    with user_errors():
        line = invoke(folder, member, channel, locate_fabric(), endorsers=endorser or (), via=via)
    console.print(f"committed: {line}", highlight=False)


@org_app.command("node-init")
def node_init_command(
    directory: OrgDir,
    member: Members,
    name: Annotated[str, typer.Option(help="Node name, unique within the org.")],
    listen: Annotated[str, typer.Option(help="host:port of this node's adapter exchange.")],
    out: Annotated[Path, typer.Option(help="Node folder to create.", file_okay=False)],
    model: Annotated[str, typer.Option(help="Base model: smollm2 or tiny.")] = "smollm2",
    site: Annotated[str, typer.Option(help="Demo data shard this node holds.")] = "",
    channel: Channel = "fedlora",
) -> None:
    """Create a node of this org (its identity issued by the org's own CAs, on this host) that
    uses the org's own peer as its Gateway and trusts the members' TLS CAs."""
    folder = OrgFolder(directory.resolve())
    with user_errors():
        org = load_settings(folder)
        members = unpack_members(folder, member)
        request = NodeInitRequest(
            name=name,
            msp_id=org.msp_id,
            org_dir=folder.org_dir(org),
            member_org_dirs=tuple(m.folder(folder) for m in members),
            gateway=org.address(PEER),
            gateway_tls_ca=folder.peer_dir(org) / "tls" / "ca.crt",
            channel=channel,
            listen=listen,
            endpoint=listen,
            model=model,
            site=site,
        )
        init_node_folder(request, out)
    console.print(f"node {name} of {org.msp_id} created in {out}", highlight=False)


@org_app.command("node-trust")
def node_trust_command(
    directory: OrgDir,
    member: Members,
    node: Annotated[Path, typer.Option(help="The node folder (from node-init).", file_okay=False)],
) -> None:
    """Refresh a node's trust list (member-cas/) from the members' definitions, e.g. after an
    org joined; takes effect at the node's next start."""
    folder = OrgFolder(directory.resolve())
    with user_errors():
        members = unpack_members(folder, member)
        trust = node / "member-cas"
        if not trust.is_dir():
            raise FedloraError(f"{node} is not a node folder", "pass a folder made by node-init")
        for entry in members:
            for cert in sorted((entry.folder(folder) / "tlsca").glob("*-cert.pem")):
                write_atomic(trust / cert.name, cert.read_text(encoding="utf-8"))
    console.print(f"{node} trusts {', '.join(m.msp_id for m in members)}", highlight=False)


@org_app.command("stop")
def stop_command(directory: OrgDir) -> None:
    """Stop the org's processes on this host."""
    with user_errors():
        stopped = stop_all(OrgFolder(directory.resolve()))
    console.print(f"stopped: {', '.join(stopped) or 'nothing was running'}", highlight=False)


@consortium_app.command("genesis")
def genesis_command(
    directory: OrgDir,
    member: Members,
    out: Annotated[Path, typer.Option(help="Where to write <channel>.block.", dir_okay=False)],
    channel: Channel = "fedlora",
) -> None:
    """The channel's genesis block: every member, MAJORITY policies, one Raft orderer each."""
    with user_errors():
        create_genesis(OrgFolder(directory.resolve()), member, channel, out, locate_fabric())
    console.print(f"genesis block of {channel} written to {out}", highlight=False)


@consortium_app.command("commit")
def commit_command(
    directory: OrgDir,
    member: Members,
    channel: Channel = "fedlora",
    endorser: Endorsers = None,
) -> None:
    """Commit the chaincode definition once a majority of the members approved it."""
    folder = OrgFolder(directory.resolve())
    with user_errors():
        commit_chaincode(folder, member, channel, locate_fabric(), endorsers=endorser or ())
    console.print("chaincode definition committed", highlight=False)


@consortium_app.command("propose-add")
def propose_add_command(
    directory: OrgDir,
    new: Annotated[
        Path, typer.Option(help="The new org's definition file.", exists=True, dir_okay=False)
    ],
    out: Annotated[
        Path, typer.Option(help="The unsigned update to hand to the signers.", dir_okay=False)
    ],
    channel: Channel = "fedlora",
) -> None:
    """Compute the config update that adds an org (run by a member, on its host)."""
    with user_errors():
        propose_addition(OrgFolder(directory.resolve()), new, channel, out, locate_fabric())
    console.print(
        f"update written to {out}: have a majority of member admins sign it", highlight=False
    )


@consortium_app.command("propose-remove")
def propose_remove_command(
    directory: OrgDir,
    org: Annotated[
        Path,
        typer.Option(
            "--org", help="The leaving org's definition file.", exists=True, dir_okay=False
        ),
    ],
    out: Annotated[
        Path, typer.Option(help="The unsigned update to hand to the signers.", dir_okay=False)
    ],
    channel: Channel = "fedlora",
) -> None:
    """Compute the config update that removes an org and its orderer (run by another member)."""
    with user_errors():
        propose_removal(OrgFolder(directory.resolve()), org, channel, out, locate_fabric())
    console.print(
        f"update written to {out}: have a majority of member admins sign it", highlight=False
    )


@consortium_app.command("sign")
def sign_command(
    directory: OrgDir,
    update: Update,
    out: Annotated[
        Path, typer.Option(help="Where to write this admin's signature.", dir_okay=False)
    ],
) -> None:
    """Sign a config update as this org's admin; only the signature is written."""
    with user_errors():
        sign_update(OrgFolder(directory.resolve()), update, out, locate_fabric())
    console.print(f"signature written to {out}", highlight=False)


@consortium_app.command("submit")
def submit_command(
    directory: OrgDir,
    update: Update,
    signature: Annotated[
        list[Path],
        typer.Option("--signature", help="A signature file; repeat.", exists=True, dir_okay=False),
    ],
    channel: Channel = "fedlora",
) -> None:
    """Submit a signed config update through this org's orderer."""
    with user_errors():
        submit_update(OrgFolder(directory.resolve()), update, signature, channel, locate_fabric())
    console.print("config update committed", highlight=False)
