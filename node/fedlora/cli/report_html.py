"""The audit report as one self-contained HTML page, from a session's trail and key histories.

Pure: :func:`render_report` takes the chain's records (a :class:`~fedlora.ledger.Trail`, the
history rows `audit history` lists, and the facts of the read) and returns the page. Inline
CSS and SVG only: no script, no external resource, so it opens offline in any browser. Every
value from the chain is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fedlora.cli.report_svg import (
    attempts,
    convergence_svg,
    esc,
    lineage_svg,
    timeline_svg,
)
from fedlora.ledger import Round, Trail
from fedlora.ledger.contract import elect_aggregator

HISTORY_COLUMNS = ("timestamp", "key", "status", "aggregator", "sha256", "final_sha256", "tx_id")

CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px 32px;color:#222;max-width:1500px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #ccc;padding:3px 7px;
text-align:left;vertical-align:top}th{background:#f3f3f3}
code,.mono{font:12px ui-monospace,monospace}.mono{white-space:nowrap}
.ok{background:#e3f4e1;color:#176b10}.bad{background:#fbe3e3;color:#a01010}.none{color:#999}
.agg{font-weight:bold}.scroll{overflow-x:auto}.figure{background:#fcfcfc;border:1px solid #ddd}
.figure text{font:11px system-ui,sans-serif}
.figure .hash{font:10px ui-monospace,monospace;fill:#555}
.tick{fill:#666}.label{font-weight:bold}.grid{stroke:#eee}.span{stroke:#bbb;stroke-width:2}
.update rect{fill:#e8f0fb;stroke:#1f77b4}.aggregate rect{fill:#fff3e0;stroke:#ff7f0e}
.final rect{fill:#e3f4e1;stroke:#2ca02c;stroke-width:3}.rejected rect{fill:#fbe3e3;stroke:#d62728}
path.input{fill:none;stroke:#999}path.input-rejected{fill:none;stroke:#d62728;stroke-dasharray:4 3}
path.trained{fill:none;stroke:#2ca02c;stroke-dasharray:2 3}.facts td:first-child{font-weight:bold}
.plots{display:flex;flex-wrap:wrap;gap:12px}
"""


TIMELINE_LEGEND = (
    "<p>| round opened, <span style='color:#1f77b4'>●</span> update submitted, "
    "<span style='color:#ff7f0e'>◆</span> aggregate proposed, "
    "<span style='color:#2ca02c'>▮</span> accepted, <span style='color:#d62728'>×</span> "
    "rejected (large: the attempt ended).</p>"
)


@dataclass(frozen=True)
class ChainFacts:
    """Where and how the report's records were read."""

    channel: str
    chaincode: str
    gateway: str
    reader: str  # the identity the queries were signed with
    block_height: int | None  # None when the peer did not say
    generated_at: str


def render_report(trail: Trail, rows: Sequence[dict[str, Any]], facts: ChainFacts) -> str:
    """The whole page for one session.

    Parameters
    ----------
    trail : Trail
        The session's compliance export.
    rows : sequence of dict
        Every committed version of the session's records (``audit history``'s rows).
    facts : ChainFacts
        Channel, chaincode, gateway, reader identity and block height of the read.
    """
    sid = esc(trail.session.session_id)
    body = [
        f"<h1>fedlora audit report: session <code>{sid}</code></h1>",
        f"<p>Built from the chain alone, {esc(facts.generated_at)}. Every value below is a "
        "committed ledger record; hover a figure's marks for their transaction ids.</p>",
        _summary(trail),
        _facts(facts),
        _section(
            "Round timeline", TIMELINE_LEGEND + f'<div class="scroll">{timeline_svg(trail)}</div>'
        ),
        _section("Endorsement matrix", _matrix(trail)),
        _section(
            "Lineage: from the final adapter back to every update",
            f'<div class="scroll">{lineage_svg(trail)}</div>',
        ),
        _section("Failovers and rejected proposals", _failovers(trail)),
        _section("Per-site metrics (from the updates on chain)", _metrics(trail)),
        _section("Convergence", _convergence(trail)),
        _section(f"Every version of every record ({len(rows)})", _history(rows)),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>fedlora audit report: {sid}</title><style>{CSS}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )


def _section(title: str, content: str) -> str:
    return f"<section><h2>{esc(title)}</h2>{content}</section>"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], css: str = "") -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    thead = f"<thead><tr>{head}</tr></thead>" if any(headers) else ""
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f'<table class="{css}">{thead}<tbody>{body}</tbody></table>'


def _summary(trail: Trail) -> str:
    s = trail.session
    params = ", ".join(f"{esc(k)}={v:g}" for k, v in sorted(s.rule.params.items()))
    rows = [
        ("Status", esc(s.status) + (f" ({esc(s.failure_reason)})" if s.failure_reason else "")),
        (
            "Base model",
            f"<code>{esc(s.base_model)}</code> weights <code>{esc(s.base_model_sha256)}</code>",
        ),
        ("Dataset tag", f"<code>{esc(s.dataset_tag)}</code>"),
        ("Rounds", f"{len(trail.rounds)} of {s.rounds}, quorum {s.quorum}"),
        ("Rule", f"<code>{esc(s.rule.name)}</code> {params}"),
        ("Participants", ", ".join(f"<code>{esc(p)}</code>" for p in s.participants)),
        ("Creator", f"<code>{esc(s.creator)}</code> at {esc(s.created_at)}"),
        ("Final adapter", f"<code>{esc(s.final_adapter_sha256) or 'none'}</code>"),
        ("Privacy budget", _budget(trail)),
    ]
    return _section("Session", _table(("", ""), rows, "facts"))


def _budget(trail: Trail) -> str:
    p = trail.session.privacy
    if p is None:
        return "none (no differential privacy in this session)"
    return (
        f"epsilon {p.epsilon:g} at delta {p.delta:g}, noise multiplier "
        f"{p.noise_multiplier:g}, clip norm {p.clip_norm:g}"
    )


def _facts(facts: ChainFacts) -> str:
    height = str(facts.block_height) if facts.block_height is not None else "not reported"
    rows = [
        ("Channel", f"<code>{esc(facts.channel)}</code>"),
        ("Chaincode", f"<code>{esc(facts.chaincode)}</code>"),
        ("Gateway peer", f"<code>{esc(facts.gateway)}</code>"),
        ("Read as", f"<code>{esc(facts.reader)}</code>"),
        ("Block height at read", esc(height)),
    ]
    return _section("Chain facts", _table(("", ""), rows, "facts"))


def _verdict_cell(node: str, verdicts: dict[str, Any], aggregator: str) -> str:
    mark = " (A)" if node == aggregator else ""
    verdict = verdicts.get(node)
    if verdict is None:
        return f'<span class="none">–{mark}</span>'
    css, sign = ("ok", "✓") if verdict.accept else ("bad", "✗")
    reason = f" {esc(verdict.reason)}" if verdict.reason else ""
    tip = esc(f"{verdict.at} tx {verdict.tx_id}")
    return f'<span class="{css}" title="{tip}">{sign}{mark}{reason}</span>'


def _matrix(trail: Trail) -> str:
    nodes = sorted({*trail.session.participants, *(n for r in trail.rounds for n in r.updates)})
    columns: list[tuple[str, str, dict[str, Any]]] = []
    for r in trail.rounds:
        by_attempt = {p.attempt: (p.aggregator, v) for p, v in attempts(r)}
        for attempt in range(r.attempt + 1):
            fallback: tuple[str, dict[str, Any]] = (
                elect_aggregator(trail.session.participants, r.round, attempt),
                {},
            )
            aggregator, verdicts = by_attempt.get(attempt, fallback)
            columns.append((f"r{r.round} a{attempt}", aggregator, verdicts))
    headers = ["node", *(label for label, _, _ in columns)]
    rows = [
        [f"<code>{esc(n)}</code>", *(_verdict_cell(n, v, a) for _, a, v in columns)] for n in nodes
    ]
    legend = "<p>✓ accepted, ✗ rejected (with the reason given), – no verdict; (A) aggregator.</p>"
    return legend + f'<div class="scroll">{_table(headers, rows)}</div>'


def _failover_rows(trail: Trail, r: Round) -> list[list[str]]:
    rows = []
    rejected = {p.attempt: p for p in r.rejected_proposals}
    for attempt in range(r.attempt):
        p = rejected.get(attempt)
        if p is None:
            who = elect_aggregator(trail.session.participants, r.round, attempt)
            rows.append(
                [
                    str(r.round),
                    str(attempt),
                    f"<code>{esc(who)}</code>",
                    "no proposal: failed over",
                    "",
                    "",
                    "",
                ]
            )
            continue
        reasons = "<br>".join(
            f"<code>{esc(n)}</code>: {esc(v.reason or 'rejected')}"
            for n, v in sorted(p.endorsements.items())
            if not v.accept
        )
        rows.append(
            [
                str(r.round),
                str(attempt),
                f"<code>{esc(p.aggregator)}</code>",
                esc(p.cause),
                esc(p.rejected_at),
                f"<code>{esc(p.tx_id)}</code>",
                reasons,
            ]
        )
    return rows


def _failovers(trail: Trail) -> str:
    rows = [row for r in trail.rounds for row in _failover_rows(trail, r)]
    failed = [r for r in trail.rounds if r.phase == "failed"]
    note = "".join(f"<p class='bad'>Round {r.round} failed.</p>" for r in failed)
    if not rows:
        return note + "<p>None: every round was endorsed on its first attempt.</p>"
    headers = ("round", "attempt", "aggregator", "cause", "ended at", "proposal tx", "reasons")
    return note + _table(headers, rows)


def _metrics(trail: Trail) -> str:
    names = sorted({m for r in trail.rounds for u in r.updates.values() for m in u.metrics})
    dp = trail.session.privacy is not None
    headers = ["round", "node", "examples", *names, *(["epsilon spent"] if dp else [])]
    headers += ["update sha256", "tx"]
    rows = [
        [
            str(r.round),
            f"<code>{esc(node)}</code>",
            str(u.num_examples),
            *(f"{u.metrics[m]:.4f}" if m in u.metrics else "–" for m in names),
            *([f"{u.epsilon_spent:.4g}"] if dp else []),
            f"<code>{esc(u.sha256[:16])}…</code>",
            f"<code>{esc(u.tx_id)}</code>",
        ]
        for r in trail.rounds
        for node, u in sorted(r.updates.items())
    ]
    return f'<div class="scroll">{_table(headers, rows)}</div>'


def _convergence(trail: Trail) -> str:
    names = sorted({m for r in trail.rounds for u in r.updates.values() for m in u.metrics})
    plots = [convergence_svg(trail, name) for name in names]
    if not any(plots):
        return "<p>No metrics on chain.</p>"
    note = (
        "<p>Each site's metrics as its update recorded them: <code>global_accuracy</code> "
        "is the incoming global adapter measured on the site's own test split.</p>"
    )
    return note + f'<div class="plots">{"".join(plots)}</div>'


def _history(rows: Sequence[dict[str, Any]]) -> str:
    ordered = sorted(rows, key=lambda row: (str(row["timestamp"]), str(row["key"])))
    cells = [
        [f'<span class="mono">{esc(row.get(column, ""))}</span>' for column in HISTORY_COLUMNS]
        for row in ordered
    ]
    note = (
        "<p>Oldest first. The session and round keys list each committed version from the "
        "ledger's key history; updates and verdicts are written once, under keys of their "
        "own.</p>"
    )
    return note + f'<div class="scroll">{_table(HISTORY_COLUMNS, cells)}</div>'
