"""`fedlora node ...`: node operators create, register, run and inspect their node."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from fedlora.cli.common import NodeConfigOption, console, print_json, user_errors
from fedlora.config import load_node_config
from fedlora.daemon.nodefiles import init_node_folder, request_for_org
from fedlora.errors import FedloraError
from fedlora.network import NetworkLayout
from fedlora.network.state import load_state
from fedlora.paths import default_network_dir

app = typer.Typer(help="Create, register, run and inspect a node.", no_args_is_help=True)

NetworkDirOption = Annotated[
    Path | None,
    typer.Option(
        "--network-dir",
        help="Folder of the network (`fedlora network up --dir`); default ~/.fedlora/network.",
    ),
]


@app.command("init")
def init(
    org: Annotated[int, typer.Option(help="Member organisation number (1 = Org1).")],
    name: Annotated[str, typer.Option(help="Node name, unique within the org.")] = "node1",
    listen: Annotated[str, typer.Option(help="host:port of this node's adapter exchange.")] = "",
    out: Annotated[Path | None, typer.Option(help="Node folder to create.")] = None,
    model: Annotated[str, typer.Option(help="Base model: smollm2 or tiny.")] = "smollm2",
    site: Annotated[str, typer.Option(help="Demo data shard this node holds.")] = "",
    network_dir: NetworkDirOption = None,
    json_output: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Issue a node identity from the org's CAs and write the node folder with its node.toml."""
    with user_errors():
        network_dir = network_dir or default_network_dir()
        layout = NetworkLayout(network_dir)
        state = load_state(layout.state_file)
        if state is None:
            raise FedloraError(
                f"no network in {network_dir}", "run `fedlora network up` or pass --network-dir"
            )
        request = request_for_org(state, layout, org, name, listen, model, site)
        member = state.plan.orgs[org - 1]
        folder = out or network_dir.parent / "nodes" / f"{member.name.lower()}-{name}"
        issued = init_node_folder(request, folder)
        result = {
            "node_folder": str(folder),
            "config": str(folder / "node.toml"),
            "node_id": f"{member.msp_id}/{issued.common_name}",
            "tls_cert_sha256": issued.tls_cert_sha256,
        }
        if json_output:
            print_json(result)
            return
        console.print(f"[green]node created[/] {result['node_id']} in {folder}")
        console.print(f"next: fedlora node join --config {folder / 'node.toml'}")


@app.command("join")
def join(
    config: NodeConfigOption,
    json_output: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Register this node on chain: its endpoint and TLS certificate fingerprint."""
    from fedlora.daemon.wiring import node_tls, open_contract

    with user_errors():
        node_config = load_node_config(config)
        tls = node_tls(node_config)
        gateway, contract, _ = open_contract(node_config)
        with gateway:
            node = contract.register_node(node_config.exchange.endpoint, tls.fingerprint)
        _show_node(node, json_output)


@app.command("status")
def status(
    config: NodeConfigOption,
    json_output: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show this node's record on chain."""
    from fedlora.daemon.wiring import open_contract

    with user_errors():
        gateway, contract, node_id = open_contract(load_node_config(config))
        with gateway:
            _show_node(contract.get_node(node_id), json_output)


@app.command("start")
def start(
    config: NodeConfigOption,
    session: Annotated[str, typer.Option(help="Session to take part in.")],
) -> None:
    """Run the node daemon for one session until it completes."""
    # Imported here: they load torch, which a quick `fedlora node status` should not wait for.
    from fedlora.daemon.coordinator import StepOutcome
    from fedlora.daemon.decide import Action
    from fedlora.daemon.service import run_node

    with user_errors():
        node_config = load_node_config(config)
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

        def report(outcome: StepOutcome) -> None:
            if outcome.action is not Action.WAIT:
                console.print(
                    f"round {outcome.round_number}: {outcome.action.value} {outcome.detail}"
                )

        result = run_node(node_config, session, on_step=report)
        console.print(f"[green]session {session} complete[/]: final adapter {result.adapter_dir}")


def _show_node(node: Any, json_output: bool) -> None:
    if json_output:
        print_json(node.to_json())
        return
    console.print(
        f"node [bold]{escape(node.node_id)}[/]: {escape(node.status)}, endpoint "
        f"{escape(node.endpoint)}, TLS {escape(node.tls_cert_sha256[:16])}"
    )
