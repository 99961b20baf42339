"""`fedlora audit ...`: what compliance officers ask of the chain.

`history` lists every committed change of a session (its record, each round's record, each
update and each verdict, with transaction id and timestamp). `verify` hashes an adapter (its
bytes, then its canonical re-encoding) and shows its lineage: which round and node produced it,
from which inputs, endorsed by whom, and in a session with a DP budget the epsilon each
contributing node had spent. `report` writes the whole session as one HTML page.
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
from fedlora.ledger.records import Lineage, Round

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
            rows = [row for sid in ids for row in session_rows(contract, sid)]
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
    """Hash an adapter and show its lineage from the chain.

    The file's own bytes are checked first (a final adapter fedlora wrote is the chain's
    artifact byte for byte); a copy another tool re-encoded matches by its canonical encoding.
    """
    from fedlora.daemon.wiring import open_contract

    with user_errors():
        candidates = adapter_hashes(path)
        gateway, contract, _ = open_contract(load_node_config(config))
        with gateway:
            check, sha, lineage = _first_on_chain(contract, candidates)
            privacy = lineage_privacy(contract, lineage)
        report = {
            "sha256": sha,
            "matched": check,
            "kind": lineage.kind,
            "session": lineage.session_id,
            "round": lineage.round,
            "producer": lineage.producer,
            "inputs": [{"node": i.node_id, "sha256": i.sha256} for i in lineage.inputs],
            "weights": lineage.weights,
            "rule": lineage.rule.name if lineage.rule else "",
            "endorsed_by": sorted(n for n, e in lineage.endorsements.items() if e.accept),
            "final": lineage.final,
            "privacy": privacy,
        }
        if json_output:
            print_json(report)
            return
        for key, value in report.items():
            console.print(f"[bold]{key:>12}[/]  {escape(str(value))}")


@app.command("report")
def report(
    config: NodeConfigOption,
    session: Annotated[str, typer.Option(help="Session id.")],
    out: Annotated[Path, typer.Option(help="The HTML file to write.")] = Path("report.html"),
) -> None:
    """Write a session's audit report: one self-contained HTML page, from the chain alone."""
    from fedlora.cli.audit_report import write_report

    with user_errors():
        written = write_report(load_node_config(config), session, out)
    console.print(f"audit report of session {escape(session)}: {escape(str(written))}")


def lineage_privacy(contract: Any, lineage: Lineage) -> dict[str, Any] | None:
    """The session's DP budget and the epsilon spent by each node behind the adapter.

    An update carries its producer's epsilon; an aggregate is post-processing of its inputs,
    so each input node's records are protected at that node's epsilon. None without a budget.
    """
    budget = contract.get_session(lineage.session_id).privacy
    if budget is None:
        return None
    updates = contract.get_round(lineage.session_id, lineage.round).updates
    nodes = [lineage.producer] if lineage.kind == "update" else [i.node_id for i in lineage.inputs]
    return {
        "epsilon_budget": budget.epsilon,
        "delta": budget.delta,
        "epsilon_spent": {node: updates[node].epsilon_spent for node in nodes if node in updates},
    }


RAW_BYTES = "raw file bytes"
CANONICAL = "canonical re-encoding"


def _first_on_chain(contract: Any, candidates: list[tuple[str, str]]) -> tuple[str, str, Lineage]:
    """The first (check, hash) the chain knows, with its lineage; none known: the last error."""
    from fedlora.ledger.contract import rejection_code

    for index, (check, sha) in enumerate(candidates):
        try:
            return check, sha, contract.adapter_lineage(sha)
        except FedloraError as error:
            if rejection_code(error) != "NOT_FOUND" or index == len(candidates) - 1:
                raise
    raise FedloraError("no hash to look up")  # unreachable: candidates is never empty


def adapter_hashes(path: Path) -> list[tuple[str, str]]:
    """The hashes to look up for an adapter file, in order: ``(check, sha256)`` pairs.

    First the SHA-256 of the file's bytes (what ``sha256sum`` prints); then, for a
    ``.safetensors`` file whose bytes are not canonical, that of its canonical encoding.
    """
    if path.is_dir():
        path = path / "adapter_model.safetensors"
    if not path.is_file():
        raise FedloraError(f"{path} does not exist", "give a PEFT folder or a .safetensors file")
    raw = hashlib.sha256(path.read_bytes()).hexdigest()
    hashes = [(RAW_BYTES, raw)]
    if path.suffix == ".safetensors":
        canonical = adapter_sha256(path)
        if canonical != raw:
            hashes.append((CANONICAL, canonical))
    return hashes


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


def session_rows(contract: Any, session_id: str) -> list[dict[str, Any]]:
    """Every committed write of a session: its record, each round's header, each entry.

    Updates and verdicts live under keys of their own, written once each, so the trail's
    copies (with their transaction ids) are their history. Phase changes that follow from
    those entries (a round turning final, the session completing) have no write of their own.
    """
    trail = contract.export_trail(session_id)
    keys: list[tuple[str, tuple[str, ...]]] = [("session", (session_id,))]
    keys += [("round", (session_id, str(r.round))) for r in trail.rounds]
    rows = []
    for kind, parts in keys:
        for entry in contract.history(kind, *parts):
            value = entry.value or {}
            rows.append(
                _row(entry.timestamp, entry.tx_id, f"{kind}:{'/'.join(parts)}",
                     status=value.get("phase") or value.get("status", ""),
                     aggregator=value.get("aggregator", ""),
                     final_sha256=value.get("finalSha256", ""))
            )  # fmt: skip
    private = trail.session.privacy is not None
    for round_ in trail.rounds:
        rows += _entry_rows(round_, private)
    return rows


def _entry_rows(round_: Round, private: bool = False) -> list[dict[str, Any]]:
    """The round's updates and verdicts (current and retired proposals) as history rows.

    In a session with a DP budget (``private``) an update's row carries its node's spent epsilon.
    """
    where = f"{round_.session_id}/{round_.round}"
    rows = [
        _row(update.submitted_at, update.tx_id, f"update:{where}/{node}", status="submitted",
             sha256=update.sha256, epsilon_spent=update.epsilon_spent if private else "")
        for node, update in round_.updates.items()
    ]  # fmt: skip
    attempts = [(p.attempt, p.endorsements) for p in round_.rejected_proposals]
    if round_.proposal is not None:
        attempts.append((round_.proposal.attempt, round_.endorsements))
    for attempt, verdicts in attempts:
        rows += [
            _row(verdict.at, verdict.tx_id, f"verdict:{where}/{attempt}/{node}",
                 status="accept" if verdict.accept else "reject", sha256=verdict.sha256)
            for node, verdict in verdicts.items()
        ]  # fmt: skip
    return rows


def _row(timestamp: str, tx_id: str, key: str, **fields: Any) -> dict[str, Any]:
    empty = {"status": "", "aggregator": "", "sha256": "", "final_sha256": "", "epsilon_spent": ""}
    return {"timestamp": timestamp, "tx_id": tx_id, "key": key, **empty, **fields}


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
        rows = session_rows(contract, session_id)
    rows.sort(key=lambda row: (row["timestamp"], row["key"]))
    buffer = io.StringIO()
    _write_csv(rows, buffer)
    write_atomic(out, buffer.getvalue())
    return len(rows)


def _write_csv(rows: list[dict[str, Any]], stream: TextIO) -> None:
    # epsilon_spent last, added with DP training: readers of the earlier columns are unaffected
    fields = ["timestamp", "tx_id", "key", "status", "aggregator", "sha256", "final_sha256"]
    fields += ["epsilon_spent"]
    writer = csv.DictWriter(stream, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
