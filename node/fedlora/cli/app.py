"""The `fedlora` command: one Typer sub-app per user group, registered here and nowhere else."""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="fedlora",
    help="Federated LoRA fine-tuning across hospitals, coordinated by a Fabric chaincode.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Federated LoRA fine-tuning across hospitals, coordinated by a Fabric chaincode."""


# (module under fedlora.cli, command group name). Each module exposes `app: typer.Typer`.
# A group whose module is not there yet is simply not offered.
_GROUPS = [
    ("network", "network"),
    ("node", "node"),
    ("session", "session"),
    ("audit", "audit"),
    ("simulate", "simulate"),
    ("bench", "bench"),
    ("demo", "demo"),
]


def _register_groups() -> None:
    for module_name, group in _GROUPS:
        try:
            module = importlib.import_module(f"fedlora.cli.{module_name}")
        except ModuleNotFoundError as error:
            if error.name == f"fedlora.cli.{module_name}":
                continue
            raise
        app.add_typer(module.app, name=group)


_register_groups()


@app.command()
def version() -> None:
    """Print fedlora's version."""
    from fedlora import __version__

    typer.echo(__version__)


def main() -> None:
    """Console-script entry point."""
    app()
