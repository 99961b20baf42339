"""The audit report's figures as inline SVG: round timeline, lineage graph, convergence plots.

Pure functions of chain records, returning SVG markup; every chain value passes through
:func:`esc` before it reaches the markup, so a hostile node id or reason stays text.
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from fedlora.ledger import Endorsement, Proposal, Round, Trail

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b")
_KIND_COLOURS = {
    "open": "#555",
    "update": "#1f77b4",
    "propose": "#ff7f0e",
    "accept": "#2ca02c",
    "reject": "#d62728",
    "rejected": "#d62728",
}


def esc(value: object) -> str:
    """HTML-escape any value (quotes included) for text and attributes."""
    return escape(str(value), quote=True)


def short(value: str, width: int) -> str:
    """``value`` cut to ``width`` characters, an ellipsis marking the cut."""
    return value if len(value) <= width else value[: width - 1] + "…"


def seconds(timestamp: str) -> float | None:
    """An RFC 3339 timestamp as epoch seconds; None when unset or unreadable."""
    try:
        return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def attempts(round_: Round) -> list[tuple[Proposal, dict[str, Endorsement]]]:
    """Every proposal of a round (rejected ones first) with the verdicts it got."""
    found: list[tuple[Proposal, dict[str, Endorsement]]] = [
        (p, p.endorsements) for p in round_.rejected_proposals
    ]
    if round_.proposal is not None:
        found.append((round_.proposal, round_.endorsements))
    return found


# ---- timeline -------------------------------------------------------------------------------


def round_events(round_: Round) -> list[tuple[str, str, str]]:
    """A round's time-stamped events: ``(timestamp, kind, description)``."""
    events = [(round_.opened_at, "open", f"round {round_.round} opened")]
    events += [
        (u.submitted_at, "update", f"update from {node} ({u.sha256[:12]}…), tx {u.tx_id}")
        for node, u in sorted(round_.updates.items())
    ]
    for proposal, verdicts in attempts(round_):
        events.append(
            (
                proposal.proposed_at,
                "propose",
                f"attempt {proposal.attempt}: {proposal.aggregator} proposed "
                f"{proposal.sha256[:12]}…, tx {proposal.tx_id}",
            )
        )
        for node, v in sorted(verdicts.items()):
            verdict = "accepted" if v.accept else "rejected"
            why = f": {v.reason}" if v.reason else ""
            events.append(
                (
                    v.at,
                    "accept" if v.accept else "reject",
                    f"{node} {verdict} attempt {proposal.attempt}{why}, tx {v.tx_id}",
                )
            )
    events += [
        (p.rejected_at, "rejected", f"attempt {p.attempt} ended: {p.cause}")
        for p in round_.rejected_proposals
    ]
    return events


def _marker(kind: str, x: float, y: float, title: str) -> str:
    colour = _KIND_COLOURS.get(kind, "#555")
    tip = f"<title>{esc(title)}</title>"
    if kind == "update":
        return f'<circle cx="{x:.1f}" cy="{y}" r="5" fill="{colour}">{tip}</circle>'
    if kind == "propose":
        points = f"{x:.1f},{y - 7} {x + 7:.1f},{y} {x:.1f},{y + 7} {x - 7:.1f},{y}"
        return f'<polygon points="{points}" fill="{colour}">{tip}</polygon>'
    if kind in ("reject", "rejected"):
        size = 6 if kind == "rejected" else 4
        d = (
            f"M{x - size:.1f},{y - size}L{x + size:.1f},{y + size}"
            f"M{x - size:.1f},{y + size}L{x + size:.1f},{y - size}"
        )
        return f'<path d="{d}" stroke="{colour}" stroke-width="2.5">{tip}</path>'
    if kind == "accept":
        return (
            f'<rect x="{x - 3:.1f}" y="{y - 6}" width="6" height="12" fill="{colour}">{tip}</rect>'
        )
    return (
        f'<line x1="{x:.1f}" y1="{y - 9}" x2="{x:.1f}" y2="{y + 9}" stroke="{colour}" '
        f'stroke-width="2">{tip}</line>'
    )


def timeline_svg(trail: Trail, width: int = 960) -> str:
    """Each round as a row: opened, updates, proposals, verdicts and rejections in time."""
    rows = [(r, [(seconds(t), k, d) for t, k, d in round_events(r)]) for r in trail.rounds]
    times = [t for _, events in rows for t, _, _ in events if t is not None]
    if not times:
        return "<p>No time-stamped round events on chain.</p>"
    start, span = min(times), max(max(times) - min(times), 1e-3)
    left, right, row_height = 90, 50, 36
    height = 40 + row_height * len(rows)

    def x_of(t: float) -> float:
        return left + (t - start) / span * (width - left - right)

    parts = [
        f'<svg class="figure" width="{width}" height="{height}" role="img" '
        'aria-label="round timeline">'
    ]
    for i in range(5):
        x, label = left + i / 4 * (width - left - right), f"+{span * i / 4:.1f} s"
        parts.append(f'<line x1="{x:.1f}" y1="18" x2="{x:.1f}" y2="{height}" class="grid"/>')
        parts.append(
            f'<text x="{x:.1f}" y="12" class="tick" text-anchor="middle">{esc(label)}</text>'
        )
    for index, (round_, events) in enumerate(rows):
        y = 40 + index * row_height
        known = [t for t, _, _ in events if t is not None]
        parts.append(f'<text x="8" y="{y + 4}" class="label">round {round_.round}</text>')
        parts.append(
            f'<line x1="{x_of(min(known)):.1f}" y1="{y}" x2="{x_of(max(known)):.1f}" '
            f'y2="{y}" class="span"/>'
        )
        parts += [_marker(k, x_of(t), y, d) for t, k, d in events if t is not None]
    parts.append("</svg>")
    return "".join(parts)


# ---- lineage --------------------------------------------------------------------------------

_BOX_W, _BOX_H, _COL, _ROW = 170, 30, 215, 42


def _box(x: float, y: float, label: str, sha: str, css: str) -> str:
    title = f"<title>{esc(label)}\n{esc(sha)}</title>"
    return (
        f'<g class="{css}">{title}<rect x="{x}" y="{y}" width="{_BOX_W}" height="{_BOX_H}" rx="4"/>'
        f'<text x="{x + 6}" y="{y + 13}">{esc(short(label, 26))}</text>'
        f'<text x="{x + 6}" y="{y + 25}" class="hash">{esc(sha[:16])}…</text></g>'
    )


def _edge(start: tuple[float, float], end: tuple[float, float], css: str, title: str) -> str:
    (x1, y1), (x2, y2) = start, end
    mid = (x1 + x2) / 2
    d = f"M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}"
    return f'<path d="{d}" class="{css}"><title>{esc(title)}</title></path>'


def _out(x: float, y: float) -> tuple[float, float]:
    return x + _BOX_W, y + _BOX_H / 2


def _in(x: float, y: float) -> tuple[float, float]:
    return x, y + _BOX_H / 2


class _Lineage:
    """Lays out the lineage graph: per round, a column of updates, then one of aggregates."""

    def __init__(self, trail: Trail) -> None:
        self.trail = trail
        self.nodes = sorted({n for r in trail.rounds for n in r.updates})
        self.middle = 20 + (len(self.nodes) - 1) * _ROW / 2
        self.previous: tuple[float, float] | None = None  # the last accepted aggregate's box

    def row(self, node: str) -> float:
        return 20 + (self.nodes.index(node) if node in self.nodes else 0) * _ROW

    def updates(self, round_: Round, ux: float) -> list[str]:
        parts = []
        for node, update in sorted(round_.updates.items()):
            uy = self.row(node)
            parts.append(_box(ux, uy, f"r{round_.round} {node}", update.sha256, "update"))
            if self.previous is not None:
                parts.append(
                    _edge(_out(*self.previous), _in(ux, uy), "trained", f"{node} trained from it")
                )
        return parts

    def aggregates(self, round_: Round, ux: float, ax: float) -> list[str]:
        parts, accepted_at = [], None
        for k, (proposal, _) in enumerate(reversed(attempts(round_))):
            ay = self.middle if k == 0 else 20 + (len(self.nodes) + k - 1) * _ROW
            accepted = proposal.sha256 == round_.final_sha256 and round_.phase == "final"
            final = accepted and proposal.sha256 == self.trail.session.final_adapter_sha256
            css = "final" if final else "aggregate" if accepted else "rejected"
            label = f"r{round_.round}.{proposal.attempt} by {proposal.aggregator}"
            parts.append(_box(ax, ay, ("final " if final else "") + label, proposal.sha256, css))
            for item in proposal.inputs:
                weight = proposal.weights.get(item.node_id, 0.0)
                parts.append(
                    _edge(
                        _out(ux, self.row(item.node_id)),
                        _in(ax, ay),
                        "input" if accepted else "input-rejected",
                        f"{item.node_id} weight {weight:.4f}",
                    )
                )
            accepted_at = (ax, ay) if accepted else accepted_at
        self.previous = accepted_at or self.previous
        return parts


def lineage_svg(trail: Trail) -> str:
    """From every update to its round's aggregate, and each aggregate to the next round."""
    layout, parts = _Lineage(trail), []
    for index, round_ in enumerate(trail.rounds):
        ux, ax = 20 + 2 * index * _COL, 20 + (2 * index + 1) * _COL
        parts += layout.updates(round_, ux)
        parts += layout.aggregates(round_, ux, ax)
    rejected = max((len(r.rejected_proposals) for r in trail.rounds), default=0)
    width = 40 + 2 * len(trail.rounds) * _COL
    height = 40 + (len(layout.nodes) + rejected) * _ROW
    return (
        f'<svg class="figure lineage" width="{width}" height="{height}" role="img" '
        f'aria-label="lineage graph">{"".join(parts)}</svg>'
    )


# ---- convergence ----------------------------------------------------------------------------


def metric_series(trail: Trail, metric: str) -> dict[str, list[tuple[int, float]]]:
    """Per node, ``(round, value)`` of ``metric`` as its updates recorded it."""
    nodes = sorted({n for r in trail.rounds for n in r.updates})
    return {
        n: [
            (r.round, r.updates[n].metrics[metric])
            for r in trail.rounds
            if n in r.updates and metric in r.updates[n].metrics
        ]
        for n in nodes
    }


def _site_line(
    node: str, index: int, points: list[tuple[int, float]], coords: list[tuple[float, float]]
) -> list[str]:
    colour = PALETTE[index % len(PALETTE)]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    parts = [f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2"/>']
    parts += [
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"><title>{esc(node)} '
        f"r{r}: {v:.4f}</title></circle>"
        for (x, y), (r, v) in zip(coords, points, strict=True)
    ]
    return parts


def convergence_svg(trail: Trail, metric: str, width: int = 460, height: int = 240) -> str:
    """One metric as each site reported it with its update, round by round."""
    series = metric_series(trail, metric)
    values = [v for points in series.values() for _, v in points]
    if not values:
        return ""
    low, spread = min(values), (max(values) - min(values)) or 1.0
    rounds = [r.round for r in trail.rounds]
    first, last = min(rounds), max(max(rounds), min(rounds) + 1)
    left, top, bottom, right = 50, 24, 30, 150

    def xy(round_number: int, value: float) -> tuple[float, float]:
        x = left + (round_number - first) / (last - first) * (width - left - right)
        return x, top + (1 - (value - low) / spread) * (height - top - bottom)

    parts = [
        f'<svg class="figure" width="{width}" height="{height}" role="img" '
        f'aria-label="{esc(metric)} by round"><text x="{left}" y="14" class="label">'
        f"{esc(metric)}</text>"
    ]
    parts += [
        f'<text x="4" y="{xy(first, v)[1] + 4:.1f}" class="tick">{v:.3g}</text>'
        for v in (low, max(values))
    ]
    parts += [
        f'<text x="{xy(r, low)[0]:.1f}" y="{height - 8}" class="tick">r{r}</text>' for r in rounds
    ]
    for index, (node, points) in enumerate(series.items()):
        parts += _site_line(node, index, points, [xy(r, v) for r, v in points])
        parts.append(
            f'<text x="{width - right + 10}" y="{top + 4 + index * 16}" '
            f'style="fill:{PALETTE[index % len(PALETTE)]}">{esc(short(node, 22))}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
