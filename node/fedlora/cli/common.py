"""Helpers every command shares: one-line errors, JSON output, a Rich console."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from fedlora.errors import FedloraError

console = Console()

# The node.toml a command connects with (node, session and audit commands all take it).
NodeConfigOption = Annotated[
    Path,
    typer.Option("--config", envvar="FEDLORA_NODE_CONFIG", help="The node's node.toml."),
]
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a FedloraError into one red line on stderr and exit code 2."""
    try:
        yield
    except FedloraError as error:
        # Messages quote chain values another member chose (node names): never read as markup.
        err_console.print(
            f"[bold red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True
        )
        raise typer.Exit(code=2) from None


def print_json(payload: Any) -> None:
    """Write machine-readable output: stable key order, one document on stdout."""
    sys.stdout.write(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
