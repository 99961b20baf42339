"""`fedlora network up|status|down`: the consortium admin's Fabric network, run natively."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Annotated, Any

import typer
from rich.status import Status
from rich.table import Table

from fedlora.cli import network_org
from fedlora.cli.common import console, err_console, print_json, user_errors
from fedlora.network import down, network_status, up
from fedlora.network.status import endpoints
from fedlora.paths import default_network_dir

app = typer.Typer(
    help="Bootstrap, inspect and stop the consortium's Fabric network (native processes).",
    no_args_is_help=True,
)

DirOption = Annotated[
    Path | None,
    typer.Option(
        "--dir",
        help="Folder holding the network's config, crypto, ledgers and logs "
        "[default: $FEDLORA_NETWORK_DIR or ~/.fedlora/network].",
        file_okay=False,
    ),
]


class StepPrinter:
    """Shows the running step with a spinner and each finished one with its duration."""

    def __init__(self) -> None:
        self._title: str | None = None
        self._started = 0.0
        self._status: Status | None = None

    def __call__(self, title: str) -> None:
        self._finish("[green]✓[/]")
        self._title, self._started = title, time.monotonic()
        self._status = console.status(title)
        self._status.start()

    def _finish(self, mark: str) -> None:
        if self._status is not None:
            self._status.stop()
        if self._title is not None:
            elapsed = time.monotonic() - self._started
            console.print(f"{mark} {self._title} [dim]({elapsed:.1f} s)[/]", highlight=False)
        self._title, self._status = None, None

    def __enter__(self) -> StepPrinter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._finish("[green]✓[/]" if kind is None else "[red]✗[/]")


@contextmanager
def _interruptible(what: str) -> Iterator[None]:
    """Ctrl-C: the library has already stopped what it started; say so in one line."""
    try:
        yield
    except KeyboardInterrupt:
        err_console.print(f"[bold red]interrupted:[/] {what}", highlight=False)
        raise typer.Exit(code=130) from None


def _organizations_table(rows: list[dict[str, Any]], folder: str) -> Table:
    """Endpoint, MSP id and where the admin and user MSPs of every member org live."""
    base = Path(folder) / "crypto" / "peerOrganizations"
    table = Table(title=f"Organizations (MSP folders under {base})", title_justify="left")
    for column in ("org", "MSP id", "peer endpoint", "identity", "MSP folder"):
        table.add_column(column, overflow="fold")
    for row in rows:
        if "admin_msp" not in row:
            continue  # the orderer organisation: its endpoint is in the header line
        admin = str(Path(row["admin_msp"]).relative_to(base))
        user = str(Path(row["user_msp"]).relative_to(base))
        table.add_row(row["org"], row["msp_id"], row["endpoint"], "admin", admin)
        table.add_row("", "", "", "user", user, end_section=True)
    return table


@app.command("up")
def up_command(
    orgs: Annotated[
        int | None, typer.Option(help="Member organisations, one peer each (1..9) [default: 3].")
    ] = None,
    channel: Annotated[str | None, typer.Option(help="Channel name [default: fedlora].")] = None,
    directory: DirOption = None,
    base_port: Annotated[
        int | None,
        typer.Option(help="First port of the block the network listens on [default: 27050]."),
    ] = None,
) -> None:
    """Create and start a network, or restart the stopped one in --dir on its ledgers.

    Returns once a transaction through the peers has committed.
    """
    folder = directory or default_network_dir()
    stopped_note = "every process this `up` started was stopped again"
    with user_errors(), _interruptible(stopped_note):
        with StepPrinter() as printer:
            result = up(folder, orgs=orgs, channel=channel, base_port=base_port, report=printer)
        plan = result.state.plan
        verb = "restarted on its existing ledgers" if result.restarted else "is up"
        console.print(
            f"[bold green]network {verb}[/]: channel [bold]{plan.channel}[/], "
            f"chaincode [bold]{plan.chaincode.name}[/] {plan.chaincode.version}, "
            f"orderer 127.0.0.1:{plan.orderer.port}, folder {result.layout.root}",
            highlight=False,
        )
        rows = endpoints(result.state, result.layout)
        console.print(_organizations_table(rows, str(result.layout.root)))


def _processes_table(processes: list[dict[str, Any]], heights: dict[str, Any]) -> Table:
    table = Table(title="Processes", title_justify="left")
    for column in ("process", "state", "pid", "ports", "height", "log"):
        table.add_column(column, overflow="fold")
    colours = {"healthy": "green", "unhealthy": "yellow", "stopped": "red"}
    for entry in processes:
        height = heights.get(entry["name"])
        table.add_row(
            entry["name"],
            f"[{colours[entry['state']]}]{entry['state']}[/]",
            str(entry["pid"] or "-"),
            ", ".join(str(port) for port in entry["ports"]) or "-",
            "-" if height is None else str(height),
            entry["log"],
        )
    return table


@app.command("status")
def status_command(
    directory: DirOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Health of each process, channel height per peer, committed chaincode version."""
    folder = directory or default_network_dir()
    with user_errors():
        report = network_status(folder)
    if as_json:
        print_json(report)
        return
    version = report["chaincode_version"] or "not reachable"
    console.print(
        f"network in {report['directory']}: channel [bold]{report['channel']}[/], "
        f"chaincode {report['chaincode']['name']} version {version}",
        highlight=False,
    )
    console.print(_processes_table(report["processes"], report["channel_heights"]))
    console.print(_organizations_table(report["organizations"], report["directory"]))


@app.command("down")
def down_command(
    directory: DirOption = None,
    purge: Annotated[
        bool, typer.Option("--purge", help="Also delete ledgers, crypto material and logs.")
    ] = False,
) -> None:
    """Stop every process of the network (by recorded PID); --purge also deletes its files."""
    folder = directory or default_network_dir()
    with user_errors(), StepPrinter() as printer:
        result = down(folder, purge=purge, report=printer)
    stopped = ", ".join(result.stopped) if result.stopped else "nothing was running"
    removed = "; files removed" if result.purged else "; ledgers kept (`up` restarts on them)"
    console.print(f"[bold]network down[/]: {stopped}{removed}", highlight=False)


app.add_typer(network_org.org_app, name="org")
app.add_typer(network_org.consortium_app, name="consortium")
