"""Fabric faults in the middle of a live session: the orderer or one org's peer restarted.

Each test brings up its own 3-org network, runs a 3-round tiny-model session with one
`fedlora node start` process per org (the steps of `fedlora demo`), and once round 1 is final
kills one Fabric process and starts it again from the same spec, on its own ledger. The session
must still complete: every node process exits 0, every round is final, and the final adapter's
lineage and each node's result agree with the chain. Measured times are printed (`-s`) for
docs/reliability.md.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from fedlora.cli import demo_steps as demo
from fedlora.config import load_node_config
from fedlora.daemon.outcome import read_outcome
from fedlora.daemon.wiring import open_contract
from fedlora.ledger import GatewayOptions
from fedlora.ledger.contract import ConsortiumContract
from fedlora.network import UpResult, network_status
from fedlora.network.restart import start_one, stop_one

pytestmark = pytest.mark.fabric

ROUNDS = 3
SESSION_LIMIT_S = 180.0
POLL_S = 0.2
# The ledger client retries an evaluate or endorse for this long before it gives up; a peer
# kept down longer than that makes the node's coordinator itself wait and read the chain again.
# (A failed Submit is never retried by the client, so any orderer outage does that.)
CLIENT_RETRY_S = sum(GatewayOptions().retry.delays())
UNREACHABLE_LOGGED = "ledger unreachable, reading the chain again"  # fedlora.daemon.coordinator


@dataclass
class Timings:
    """When things happened (time.monotonic seconds), for the printed report."""

    started: float = 0.0
    killed: float = 0.0
    healthy: float = 0.0
    acted_after_restart: float = 0.0
    round_final: dict[int, float] = field(default_factory=dict)

    def report(self, fault: str, actor: str) -> str:
        """One line: outage, time until the affected node(s) acted on chain again, rounds."""
        ends = [self.started, *(self.round_final[r] for r in sorted(self.round_final))]
        lengths = ", ".join(f"r{r}={b - a:.1f}s" for r, (a, b) in enumerate(pairwise(ends), 1))
        return (
            f"{fault}: down {self.healthy - self.killed:.1f}s (kill to healthy); {actor} "
            f"committed again {self.acted_after_restart - self.healthy:.1f}s after it was "
            f"healthy; rounds {lengths}"
        )


class ChainWatch:
    """Reads the session's progress through one org's Gateway (not the one being restarted)."""

    def __init__(
        self, contract: ConsortiumContract, session_id: str, check_nodes: Callable[[], None]
    ) -> None:
        self.contract, self.session_id = contract, session_id
        self.check_nodes = check_nodes  # fails the test as soon as a node process failed
        self.timings = Timings(started=time.monotonic())
        self.acts: set[tuple[str, int, str]] = set()  # (node, round, "update" or "verdict")

    def progress(self) -> tuple[Any, ...]:
        """What changes with every transaction of the session: round, phase and their contents."""
        session = self.contract.get_session(self.session_id)
        round_ = self.contract.get_round(self.session_id, max(session.current_round, 1))
        # The transaction that makes a round final also opens the next one.
        finished = session.current_round + (session.status == "completed") - 1
        for number in range(1, finished + 1):
            self.timings.round_final.setdefault(number, time.monotonic())
        self.acts |= {(node, round_.round, "update") for node in round_.updates}
        self.acts |= {(node, round_.round, "verdict") for node in round_.endorsements}
        return (session.status, round_.round, round_.phase, round_.attempt,
                sorted(round_.updates), sorted(round_.endorsements))  # fmt: skip

    def wait_for(self, what: str, condition: Callable[[tuple[Any, ...]], bool]) -> None:
        """Poll until ``condition(progress)`` holds; fail after SESSION_LIMIT_S."""
        deadline = time.monotonic() + SESSION_LIMIT_S
        while time.monotonic() < deadline:
            if condition(self.progress()):
                return
            self.check_nodes()
            time.sleep(POLL_S)
        pytest.fail(f"timed out waiting for {what}; last progress {self.progress()}")


class NodesInBackground:
    """`demo.run_nodes` in a thread: the node processes run while the test injects the fault."""

    def __init__(self, settings: demo.DemoSettings, nodes: list[demo.DemoNode]) -> None:
        self.error: BaseException | None = None
        self.logs = settings.root / "logs"
        self._thread = threading.Thread(target=self._run, args=(settings, nodes), daemon=True)
        self._thread.start()

    def _run(self, settings: demo.DemoSettings, nodes: list[demo.DemoNode]) -> None:
        try:
            demo.run_nodes(settings, nodes, print)
        except BaseException as error:  # handed to the test thread by join()
            self.error = error

    def check(self) -> None:
        """Fail with the node logs as soon as one node process has failed.

        `run_nodes` reports only once every process ended, and the others would wait for the
        failed one until the phase deadline; the CLI's last words ("error: ...") come sooner.
        """
        if self.error is not None:
            self._fail(repr(self.error))
        for log in self.logs.glob("*.log"):
            if any(line.startswith("error: ") for line in log.read_text().splitlines()):
                self._fail(f"{log.name} ended with an error")

    def join(self) -> None:
        """Wait for every node process; fail with their logs when one did not exit 0."""
        self._thread.join(SESSION_LIMIT_S)
        if self._thread.is_alive():
            self._fail("still running")
        self.check()

    def _fail(self, why: str) -> None:
        tails = {log.name: log.read_text()[-3000:] for log in sorted(self.logs.glob("*.log"))}
        pytest.fail(f"node processes: {why}\n" + json.dumps(tails, indent=1))


@dataclass(frozen=True)
class Fault:
    """Which process is killed once round 1 is final, and for how long it stays down."""

    process: str
    outage_s: float
    actor_org: int | None = None  # whose node must act on chain again (1-based); None: any
    watch_org: int = 1  # the org whose peer the test reads the chain through; stays up


def _session_through_a_restart(live: UpResult, root: Path, fault: Fault) -> str:
    """Run the session; once round 1 is final, SIGKILL the process, keep it down, start it
    again; then check the outcome. Returns the measured times as one line."""
    # Quorum 3: every node endorses, so each holds the final adapter before the session
    # ends. With 2 of 3, the node whose verdict was not needed must fetch it from a node that
    # may already have exited (a race of the session's end, not of these faults).
    settings = demo.DemoSettings(
        root, model="tiny", rounds=ROUNDS, steps=2, batch_size=4, top_layers=1, quorum=3,
        session_id=f"restart-{fault.process}",
    )  # fmt: skip
    nodes = demo.create_nodes(settings, live.state, live.layout, print)
    demo.start_session(settings, live.layout, live.state, nodes)
    actors = {n.node_id for n in nodes} if fault.actor_org is None else {
        nodes[fault.actor_org - 1].node_id
    }  # fmt: skip
    gateway, contract, _ = open_contract(load_node_config(nodes[fault.watch_org - 1].config_path))
    with gateway:
        running = NodesInBackground(settings, nodes)
        watch = ChainWatch(contract, settings.session_id, running.check)
        watch.wait_for("round 1 final", lambda p: p[1] > 1 or p[2] == "final")
        _kill_and_restart(live, watch, fault, actors)
        watch.wait_for("the session's end", lambda p: p[0] != "running")
        running.join()
        _check_completed_with_intact_lineage(contract, nodes, settings.session_id)
    _check_peers_agree(live)
    # The fault hit the nodes where the fix matters: their coordinator, not only the ledger
    # client's retries, met the outage (and waited instead of exiting).
    logs = running.logs.glob("*.log" if fault.actor_org is None else f"org{fault.actor_org}-*.log")
    assert any(UNREACHABLE_LOGGED in log.read_text() for log in logs)
    actor = "a node" if fault.actor_org is None else f"org{fault.actor_org}'s node"
    return watch.timings.report(f"{fault.process} SIGKILL", actor)


def _kill_and_restart(live: UpResult, watch: ChainWatch, fault: Fault, actors: set[str]) -> None:
    """SIGKILL the process, keep it down, start it from its spec; time until ``actors`` (the
    nodes that lost their ledger) commit a transaction again."""
    timings = watch.timings
    timings.killed = time.monotonic()
    stop_one(live.layout.root, fault.process, kill=True)
    time.sleep(fault.outage_s)
    start_one(live.layout.root, fault.process)
    timings.healthy = time.monotonic()
    watch.progress()
    before = {act for act in watch.acts if act[0] in actors}
    watch.wait_for(
        "an affected node to commit again",
        lambda _: any(act[0] in actors and act not in before for act in watch.acts),
    )
    timings.acted_after_restart = time.monotonic()


def _check_completed_with_intact_lineage(
    contract: ConsortiumContract, nodes: list[demo.DemoNode], session_id: str
) -> None:
    """Every round final; the final adapter's lineage is the last round's; results agree."""
    trail = contract.export_trail(session_id)
    assert trail.session.status == "completed"
    assert [r.phase for r in trail.rounds] == ["final"] * ROUNDS
    final_sha = trail.session.final_adapter_sha256
    last = trail.rounds[-1]
    assert last.final_sha256 == final_sha and last.proposal is not None
    lineage = contract.adapter_lineage(final_sha)
    assert (lineage.kind, lineage.round, lineage.final) == ("aggregate", ROUNDS, True)
    assert lineage.session_id == session_id and lineage.producer == last.aggregator
    assert set(lineage.inputs) == set(last.proposal.inputs)
    # every input is an update the chain recorded for that round, from its own producer
    assert {(i.node_id, i.sha256) for i in lineage.inputs} <= {
        (node, update.sha256) for node, update in last.updates.items()
    }
    assert lineage.endorsements == last.endorsements
    accepted = {n for n, e in lineage.endorsements.items() if e.accept and e.sha256 == final_sha}
    assert len(accepted) >= trail.session.quorum and last.aggregator in accepted
    for node in nodes:
        outcome = read_outcome(load_node_config(node.config_path).data_dir, session_id)
        assert outcome.status == "completed" and outcome.final_sha256 == final_sha


def _check_peers_agree(live: UpResult) -> None:
    """The restarted process caught up: every peer reaches the same height (a peer receives the
    last block from the orderer a moment after the one that answered)."""
    deadline = time.monotonic() + 20
    heights = network_status(live.layout.root)["channel_heights"]
    while len(set(heights.values())) != 1 and time.monotonic() < deadline:
        time.sleep(0.5)
        heights = network_status(live.layout.root)["channel_heights"]
    assert len(set(heights.values())) == 1, heights


def test_the_session_completes_across_an_orderer_crash_and_restart(
    network: UpResult, tmp_path: Path
) -> None:
    # Every node's next submission meets the stopped orderer (then one without a Raft leader).
    print(_session_through_a_restart(network, tmp_path, Fault("orderer", outage_s=5.0)))


def test_the_session_completes_when_a_nodes_gateway_peer_crashes_and_restarts(
    network: UpResult, tmp_path: Path
) -> None:
    # Org2's node uses peer0.org2 as its Gateway; the others go on through their own peers.
    peer = network.state.plan.orgs[1].peer_name
    # Down longer than the client's retries even if the node was still training when it died.
    fault = Fault(peer, outage_s=CLIENT_RETRY_S + 10.0, actor_org=2)
    print(_session_through_a_restart(network, tmp_path, fault))
