"""`fedlora bench round`: how long the consortium takes to agree on a round, on the live network.

The critical path of a round is from the commit of its last update (the chain's
AggregationStarted event) to the commit of the endorsement that makes it final (RoundFinalized,
or SessionCompleted for the last round). It splits at the commit of the proposal
(AggregateProposed): before it, the aggregator wakes up, fetches every update, aggregates and
has its proposal ordered; after it, the other members wake up, fetch, recompute, and their
verdicts are ordered until quorum. Times are taken where a client sees them: when each event
arrives on one Gateway event stream, so every phase includes the same delivery latency.
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
from fedlora.config import load_node_config
from fedlora.daemon.wiring import open_contract
from fedlora.network.topology import find_free_base_port

CLOSES_COLLECTION = "AggregationStarted"
PROPOSED = "AggregateProposed"
FINAL = ("RoundFinalized", "SessionCompleted")


@dataclass(frozen=True)
class RoundTiming:
    """One round's phases, in seconds between event arrivals."""

    round: int
    aggregate_s: float  # last update committed -> proposal committed
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

    def median(self, skip_first: bool = True) -> RoundTiming:
        """Median of each phase; round 1 is left out by default (nodes still load the model)."""
        rounds = self.rounds[1:] if skip_first and len(self.rounds) > 1 else self.rounds
        return RoundTiming(
            0,
            statistics.median(r.aggregate_s for r in rounds),
            statistics.median(r.endorse_s for r in rounds),
            sum(r.failovers for r in rounds),
        )


def timings_from_events(arrivals: list[tuple[float, str, int]]) -> list[RoundTiming]:
    """Round timings from (arrival time, event name, round) in arrival order."""
    by_round: dict[int, dict[str, float]] = {}
    failovers: dict[int, int] = {}
    for at, name, number in arrivals:
        marks = by_round.setdefault(number, {})
        if name in FINAL:
            marks["final"] = at
        elif name in (CLOSES_COLLECTION, PROPOSED):
            marks[name] = at  # after a failover, the later proposal is the one that passed
        if name == "AggregatorFailedOver":
            failovers[number] = failovers.get(number, 0) + 1
    timings = []
    for number, marks in sorted(by_round.items()):
        if {CLOSES_COLLECTION, PROPOSED, "final"} <= marks.keys():
            timings.append(
                RoundTiming(
                    number,
                    marks[PROPOSED] - marks[CLOSES_COLLECTION],
                    marks["final"] - marks[PROPOSED],
                    failovers.get(number, 0),
                )
            )
    return timings


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
        arrivals: list[tuple[float, str, int]] = []
        watcher = _record_events(nodes[0].config_path, settings.session_id, arrivals)
        demo.start_session(settings, layout, state, nodes)
        demo.run_nodes(settings, nodes, _quiet)
        watcher.join(timeout=10.0)
    finally:
        down(root / "network", purge=True)
    return RoundBenchResult(nodes_total, timings_from_events(sorted(arrivals)))


def _record_events(
    config_path: Path, session_id: str, arrivals: list[tuple[float, str, int]]
) -> threading.Thread:
    """Follow the chaincode's events from a thread, noting when each of the session's arrives."""
    config = load_node_config(config_path)
    ready = threading.Event()

    def follow() -> None:
        gateway, _, _ = open_contract(config)
        with gateway:
            network = gateway.network(config.fabric.channel)
            with network.chaincode_events(config.fabric.chaincode) as events:
                ready.set()
                for event in events:
                    payload: dict[str, Any] = json.loads(event.payload or b"{}")
                    if payload.get("sessionId") != session_id:
                        continue
                    arrivals.append((time.monotonic(), event.event_name, int(payload["round"])))
                    if event.event_name == "SessionCompleted" or payload.get("phase") == "failed":
                        return

    thread = threading.Thread(target=follow, name="bench-events", daemon=True)
    thread.start()
    ready.wait(timeout=30.0)
    return thread


def _quiet(_: str) -> None:
    pass
