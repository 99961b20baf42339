"""`fedlora audit report`: read a session from the chain and write it as one HTML page.

The reading lives here (the trail, every version of every record as `audit history` lists
them, and the facts of the read); the page itself is :mod:`fedlora.cli.report_html`'s.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fedlora.cli.audit import session_rows
from fedlora.cli.report_html import ChainFacts, render_report
from fedlora.config import NodeConfig
from fedlora.fileio import write_atomic
from fedlora.ledger import Gateway

_log = logging.getLogger("fedlora.cli")


def build_report(contract: Any, session_id: str, facts: ChainFacts) -> str:
    """The report page of ``session_id`` from a contract's audit queries (no other input)."""
    trail = contract.export_trail(session_id)
    rows = session_rows(contract, session_id)
    return render_report(trail, rows, facts)


def write_report(config: NodeConfig, session_id: str, out: Path) -> Path:
    """Read ``session_id`` through the node's Gateway and write its report to ``out``."""
    from fedlora.daemon.wiring import open_contract

    gateway, contract, reader = open_contract(config)
    with gateway:
        facts = ChainFacts(
            channel=config.fabric.channel,
            chaincode=config.fabric.chaincode,
            gateway=config.fabric.gateway,
            reader=reader,
            block_height=block_height(gateway, config.fabric.channel),
            generated_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        page = build_report(contract, session_id, facts)
    write_atomic(out, page)
    return out


def block_height(gateway: Gateway, channel: str) -> int | None:
    """The channel's block height from the peer's ``qscc GetChainInfo``; None if refused.

    The answer is a ``common.BlockchainInfo`` message; its height is field 1, a varint, read
    here by hand.
    """
    try:
        info = gateway.network(channel).contract("qscc").evaluate("GetChainInfo", channel)
    except Exception as error:  # an optional fact: the report is complete without it
        _log.warning("block height not available: %s", error)
        return None
    return _varint_field_1(info)


def _varint_field_1(message: bytes) -> int | None:
    if not message or message[0] != 0x08:  # field 1, wire type 0 (varint)
        return None
    value, shift = 0, 0
    for byte in message[1:11]:
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value
        shift += 7
    return None
