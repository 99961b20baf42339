"""`fedlora audit ...`: what compliance officers ask of the chain.

`history` lists every committed change of a session (its record and each round's record, with
transaction id and timestamp). `verify` hashes an adapter the way fedlora records adapters and
shows its lineage: which round and node produced it, from which inputs, endorsed by whom.
"""

from __future__ import annotations

import csv
import hashlib
import io
import sys
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer
from rich.markup import escape
from rich.table import Table

from fedlora.cli.common import NodeConfigOption, console, print_json, user_errors
from fedlora.config import load_node_config
from fedlora.errors import FedloraError
from fedlora.fileio import write_atomic

app = typer.Typer(help="Read the chain's audit trail and verify adapters.", no_args_is_help=True)


@app.command("history")
def history(
    config: NodeConfigOption,
    session: Annotated[str, typer.Option(help="Session id; default: every session.")] = "",
    json_output: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
    csv_output: Annotated[bool, typer.Option("--csv", help="CSV output.")] = False,
) -> None:
    """Every committed version of the session and round records, oldest first."""
    from fedlora.daemon.wiring import open_contract

    with user_errors():
        gateway, contract, _ = open_contract(load_node_config(config))
        with gateway:
            ids = [session] if session else [s.session_id for s in contract.list_sessions()]
            rows = [row for sid in ids for row in _session_rows(contract, sid)]
        rows.sort(key=lambda row: (row["timestamp"], row["key"]))
        if json_output:
            print_json(rows)
        elif csv_output:
            _write_csv(rows, sys.stdout)
        else:
            console.print(_history_table(rows))


@app.command("verify")
def verify(
    path: Annotated[Path, typer.Argument(help="Adapter: a PEFT folder, .safetensors or artifact.")],
    config: NodeConfigOption,
    json_output: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Hash an adapter and show its lineage from the chain."""
    from fedlora.daemon.wiring import open_contract

    with user_errors():
        sha = adapter_sha256(path)
        gateway, contract, _ = open_contract(load_node_config(config))
        with gateway:
            lineage = contract.adapter_lineage(sha)
        report = {
            "sha256": sha,
            "kind": lineage.kind,
            "session": lineage.session_id,
            "round": lineage.round,
            "producer": lineage.producer,
            "inputs": [{"node": i.node_id, "sha256": i.sha256} for i in lineage.inputs],
            "weights": lineage.weights,
            "rule": lineage.rule.name if lineage.rule else "",
            "endorsed_by": sorted(n for n, e in lineage.endorsements.items() if e.accept),
            "final": lineage.final,
        }
        if json_output:
            print_json(report)
            return
        for key, value in report.items():
            console.print(f"[bold]{key:>12}[/]  {escape(str(value))}")


def adapter_sha256(path: Path) -> str:
    """The hash fedlora records for an adapter: of its canonical safetensors encoding.

    A PEFT folder or a ``.safetensors`` file is re-encoded canonically (sorted names, fixed
    layout), so the hash does not depend on which tool wrote the file.
    """
    if path.is_dir():
        path = path / "adapter_model.safetensors"
    if not path.is_file():
        raise FedloraError(f"{path} does not exist", "give a PEFT folder or a .safetensors file")
    data = path.read_bytes()
    if path.suffix == ".safetensors":
        from safetensors.torch import load

        from fedlora.artifacts import encode_adapter

        try:
            return hashlib.sha256(encode_adapter(load(data))).hexdigest()
        except Exception as error:
            raise FedloraError(f"{path} is not a readable safetensors file: {error}") from None
    return hashlib.sha256(data).hexdigest()


def _session_rows(contract: Any, session_id: str) -> list[dict[str, Any]]:
    trail = contract.export_trail(session_id)
    keys: list[tuple[str, tuple[str, ...]]] = [("session", (session_id,))]
    keys += [("round", (session_id, str(r.round))) for r in trail.rounds]
    rows = []
    for kind, parts in keys:
        for entry in contract.history(kind, *parts):
            value = entry.value or {}
            rows.append(
                {
                    "timestamp": entry.timestamp,
                    "tx_id": entry.tx_id,
                    "key": f"{kind}:{'/'.join(parts)}",
                    "status": value.get("phase") or value.get("status", ""),
                    "aggregator": value.get("aggregator", ""),
                    "final_sha256": value.get("finalSha256", ""),
                }
            )
    return rows


def _history_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="audit history")
    for column in ("timestamp", "key", "status", "aggregator", "tx_id"):
        table.add_column(column)
    for row in rows:
        cells = (row["timestamp"], row["key"], row["status"], row["aggregator"], row["tx_id"][:16])
        table.add_row(*(escape(str(cell)) for cell in cells))
    return table


def write_history_csv(config: Path, session_id: str, out: Path) -> int:
    """Write the session's audit history as `audit history --csv` prints it; returns the rows."""
    from fedlora.daemon.wiring import open_contract

    gateway, contract, _ = open_contract(load_node_config(config))
    with gateway:
        rows = _session_rows(contract, session_id)
    rows.sort(key=lambda row: (row["timestamp"], row["key"]))
    buffer = io.StringIO()
    _write_csv(rows, buffer)
    write_atomic(out, buffer.getvalue())
    return len(rows)


def _write_csv(rows: list[dict[str, Any]], stream: TextIO) -> None:
    fields = ["timestamp", "tx_id", "key", "status", "aggregator", "final_sha256"]
    writer = csv.DictWriter(stream, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
