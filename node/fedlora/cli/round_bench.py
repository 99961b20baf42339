"""`fedlora bench round`: how long the consortium takes to agree on a round, on the live network.

The critical path of a round runs from the commit of the transaction that closed collection (the
last update, or a timeout report with a quorum of updates) to the commit of the verdict that
made the round final. It splits at the commit of the proposal that passed: before it, the
aggregator wakes up, fetches every update, aggregates and has its proposal ordered; after it,
the other members wake up, fetch, recompute, and their verdicts are ordered until quorum.

Times are taken where a client sees them: when each transaction's event arrives on one Gateway
event stream (in commit order), so every phase includes the same delivery latency. Which
transactions mark the phases is read from the chain after the session (ExportTrail): the
round's updates, its proposal, and its accepting verdicts on the final hash. Phase changes are
derived from those entries, not announced by events of their own, so the deciding verdict is the
one whose arrival first completes the quorum rule (``quorum`` participants from at least two
orgs, the proposer's own acceptance among them).
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fedlora.cli import demo_steps as demo
from fedlora.cli.round_breakdown import PhaseBreakdown, breakdown
from fedlora.config import load_node_config
from fedlora.daemon.outcome import read_outcome
from fedlora.daemon.wiring import open_contract
from fedlora.ledger import Round, Trail
from fedlora.network.topology import find_free_base_port

# A report of a passed collect deadline that starts aggregation with the updates that arrived.
CLOSES_COLLECTION = "AggregationStarted"
MIN_ORGS = 2  # the contract's minFinalOrgs
EVENT_WAIT_S = 10.0


@dataclass(frozen=True)
class Arrival:
    """One chaincode event of the session, when it reached the bench's event stream."""

    at: float  # time.monotonic()
    event: str
    round: int
    tx_id: str


@dataclass(frozen=True)
class RoundMarks:
    """The transactions that mark a final round's phases, as the chain recorded them."""

    round: int
    update_txs: frozenset[str]
    proposal_tx: str
    # (tx id, node id) of every accepting verdict on the final hash, the proposal's own among them
    accepting: tuple[tuple[str, str], ...]
    quorum: int
    failovers: int

    @classmethod
    def of(cls, round_: Round, quorum: int) -> RoundMarks | None:
        """The marks of a final round; None for a round that did not become final."""
        if round_.phase != "final" or round_.proposal is None:
            return None
        accepting = tuple(
            (verdict.tx_id, node_id)
            for node_id, verdict in sorted(round_.endorsements.items())
            if verdict.accept and verdict.sha256 == round_.final_sha256
        )
        return cls(
            round_.round,
            frozenset(update.tx_id for update in round_.updates.values()),
            round_.proposal.tx_id,
            accepting,
            quorum,
            round_.attempt,
        )


@dataclass(frozen=True)
class RoundTiming:
    """One round's phases, in seconds between event arrivals."""

    round: int
    aggregate_s: float  # collection closed -> proposal committed
    endorse_s: float  # proposal committed -> the deciding verdict committed
    failovers: int

    @property
    def critical_path_s(self) -> float:
        """Last update committed -> round final."""
        return self.aggregate_s + self.endorse_s


@dataclass(frozen=True)
class RoundBenchResult:
    """Per round timings of one session with ``nodes`` nodes."""

    nodes: int
    rounds: list[RoundTiming]
    phases: PhaseBreakdown | None = None  # the nodes' own medians of their actions

    def median(self, skip_first: bool = True) -> RoundTiming:
        """Median of each phase; round 1 is left out by default (nodes still load the model)."""
        rounds = self.rounds[1:] if skip_first and len(self.rounds) > 1 else self.rounds
        return RoundTiming(
            0,
            statistics.median(r.aggregate_s for r in rounds),
            statistics.median(r.endorse_s for r in rounds),
            sum(r.failovers for r in rounds),
        )


def timings_from_trail(trail: Trail, arrivals: list[Arrival]) -> list[RoundTiming]:
    """Round timings of every final round of ``trail`` from the events' arrivals."""
    marks = (RoundMarks.of(round_, trail.session.quorum) for round_ in trail.rounds)
    return timings_from_marks([m for m in marks if m is not None], arrivals)


def timings_from_marks(marks: list[RoundMarks], arrivals: list[Arrival]) -> list[RoundTiming]:
    """Round timings from the marking transactions and the arrivals, in arrival order.

    A round whose marking events did not all arrive is left out.
    """
    ordered = sorted(arrivals, key=lambda arrival: arrival.at)
    seen = {arrival.tx_id: arrival.at for arrival in ordered}
    timings = []
    for mark in sorted(marks, key=lambda m: m.round):
        closes = [seen[tx] for tx in mark.update_txs if tx in seen]
        closes += [a.at for a in ordered if a.round == mark.round and a.event == CLOSES_COLLECTION]
        decided = _deciding_arrival(mark, ordered)
        if not closes or mark.proposal_tx not in seen or decided is None:
            continue
        proposed = seen[mark.proposal_tx]
        timings.append(
            RoundTiming(mark.round, proposed - max(closes), decided - proposed, mark.failovers)
        )
    return timings


def _deciding_arrival(mark: RoundMarks, ordered: list[Arrival]) -> float | None:
    """When the accepting verdicts that arrived first met the quorum rule."""
    node_of = dict(mark.accepting)
    accepted: set[str] = set()
    for arrival in ordered:
        node_id = node_of.get(arrival.tx_id)
        if node_id is None:
            continue
        accepted.add(node_id)
        orgs = {node.split("/", 1)[0] for node in accepted}
        if len(accepted) >= mark.quorum and len(orgs) >= MIN_ORGS:
            return arrival.at
    return None


def bench_round(root: Path, orgs: int, nodes_per_org: int, rounds: int) -> RoundBenchResult:
    """Run one tiny-model session with ``orgs * nodes_per_org`` nodes on a fresh network."""
    from fedlora.network import down

    nodes_total = orgs * nodes_per_org
    settings = demo.DemoSettings(
        root, model="tiny", rounds=rounds, steps=1, batch_size=4, top_layers=1,
        session_id="bench", nodes_per_org=nodes_per_org, quorum=nodes_total // 2 + 1, orgs=orgs,
        base_port=find_free_base_port(),
    )  # fmt: skip
    state, layout = demo.start_network(settings, _quiet)
    try:
        nodes = demo.create_nodes(settings, state, layout, _quiet)
        watcher = _EventWatcher(nodes[0].config_path, settings.session_id)
        demo.start_session(settings, layout, state, nodes)
        demo.run_nodes(settings, nodes, _quiet)
        trail = _read_trail(nodes[0].config_path, settings.session_id)
        arrivals = watcher.stop_after(_marking_txs(trail))
    finally:
        down(root / "network", purge=True)
    outcomes = [
        read_outcome(load_node_config(node.config_path).data_dir, settings.session_id)
        for node in nodes
    ]
    timings = timings_from_trail(trail, arrivals)
    return RoundBenchResult(nodes_total, timings, breakdown(outcomes))


def _read_trail(config_path: Path, session_id: str) -> Trail:
    gateway, contract, _ = open_contract(load_node_config(config_path))
    with gateway:
        return contract.export_trail(session_id)


def _marking_txs(trail: Trail) -> set[str]:
    """The transactions whose events the timing needs: each final round's proposal and verdicts."""
    txs: set[str] = set()
    for round_ in trail.rounds:
        if round_.proposal is not None:
            txs.add(round_.proposal.tx_id)
            txs |= {verdict.tx_id for verdict in round_.endorsements.values()}
    return txs


class _EventWatcher:
    """Follows the chaincode's events from a thread, noting when each of the session's arrives."""

    def __init__(self, config_path: Path, session_id: str) -> None:
        self._config = load_node_config(config_path)
        self._session_id = session_id
        self._arrivals: list[Arrival] = []
        self._lock = threading.Lock()
        self._stream: Any = None
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._follow, args=(ready,), name="bench-events", daemon=True
        )
        self._thread.start()
        ready.wait(timeout=30.0)

    def _follow(self, ready: threading.Event) -> None:
        gateway, _, _ = open_contract(self._config)
        with gateway:
            network = gateway.network(self._config.fabric.channel)
            with network.chaincode_events(self._config.fabric.chaincode) as events:
                self._stream = events
                ready.set()
                for event in events:
                    payload: dict[str, Any] = json.loads(event.payload or b"{}")
                    if payload.get("sessionId") != self._session_id:
                        continue
                    arrival = Arrival(
                        time.monotonic(), event.event_name, int(payload["round"]), event.tx_id
                    )
                    with self._lock:
                        self._arrivals.append(arrival)

    def stop_after(self, tx_ids: set[str]) -> list[Arrival]:
        """Wait (up to EVENT_WAIT_S) for the events of ``tx_ids``, end the stream, return all."""
        deadline = time.monotonic() + EVENT_WAIT_S
        while time.monotonic() < deadline:
            with self._lock:
                if tx_ids <= {arrival.tx_id for arrival in self._arrivals}:
                    break
            time.sleep(0.05)
        if self._stream is not None:
            self._stream.close()
        self._thread.join(timeout=EVENT_WAIT_S)
        with self._lock:
            return list(self._arrivals)


def _quiet(_: str) -> None:
    pass
