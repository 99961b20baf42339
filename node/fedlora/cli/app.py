"""The `fedlora` command: one Typer sub-app per user group, registered here and nowhere else."""

from __future__ import annotations

import typer

from fedlora import __version__
from fedlora.cli import audit, bench, demo, network, node, session, simulate

app = typer.Typer(
    name="fedlora",
    help="Federated LoRA fine-tuning across hospitals, coordinated by a Fabric chaincode.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(network.app, name="network")
app.add_typer(node.app, name="node")
app.add_typer(session.app, name="session")
app.add_typer(audit.app, name="audit")
app.add_typer(simulate.app, name="simulate")
app.add_typer(bench.app, name="bench")
app.add_typer(demo.app, name="demo")


@app.command()
def version() -> None:
    """Print fedlora's version."""
    typer.echo(__version__)


def main() -> None:
    """Console-script entry point."""
    app()
