"""The round coordinator: read the chain, decide, act, repeat, until the session ends.

The coordinator keeps no state of its own that the chain does not also hold: after a crash or
restart it reads the session and round back and carries on. Two local records make restarts
cheap and safe: updates already trained are found in the content store by the pending-update
record (so a finished round is never trained twice), and the chain refuses a duplicate
submission anyway.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fedlora.artifacts import Tensors
from fedlora.daemon.decide import Action, decide
from fedlora.daemon.pending import PendingUpdate, RoundKey
from fedlora.daemon.ports import LedgerPort
from fedlora.daemon.rounds import PeerInputError, RoundExecutor
from fedlora.errors import FedloraError
from fedlora.ledger import Round, Session
from fedlora.ledger.retry import is_temporary, is_unreachable

_log = logging.getLogger("fedlora.daemon")

# Chaincode rejections that mean the chain moved on while this node acted (another node's report, a
# failover that elected the next aggregator): read the chain again rather than stop.
BENIGN_CODES = (
    "[WRONG_PHASE]",
    "[WRONG_ROUND]",
    "[DUPLICATE]",
    "[DEADLINE_NOT_PASSED]",
    "[NOT_AGGREGATOR]",
)


@dataclass(frozen=True)
class StepOutcome:
    """What one step did, for logs, progress display and tests."""

    action: Action
    round_number: int
    detail: str = ""


class Coordinator:
    """Drives one node through one session."""

    def __init__(
        self,
        session_id: str,
        executor: RoundExecutor,
        ledger: LedgerPort,
        state_dir: Path,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.session_id = session_id
        self._executor, self._ledger, self._clock = executor, ledger, clock
        self._state_dir = state_dir
        self._wake = threading.Event()
        self._round_number = 0  # the last round read from the chain, for progress reports
        self.final_adapter: Tensors | None = None

    @property
    def node_id(self) -> str:
        """This node's id on chain."""
        return self._executor.node_id

    def wake(self) -> None:
        """Ask a waiting coordinator to look at the chain again (called on chaincode events)."""
        self._wake.set()

    def run(
        self, poll_seconds: float = 1.0, on_step: Callable[[StepOutcome], None] | None = None
    ) -> None:
        """Step until the session is over, waiting for events (or the poll interval) in between."""
        while True:
            outcome = self.step()
            if on_step is not None:
                on_step(outcome)
            if outcome.action is Action.STOP:
                return
            if outcome.action is Action.WAIT:
                self._wake.wait(poll_seconds)
                self._wake.clear()

    def step(self) -> StepOutcome:
        """Read the chain once, take the next action, and report what was done.

        When the ledger is unreachable for now (the peer or orderer restarting), the step waits:
        the next one reads the chain again and redoes whatever did not reach it.
        """
        try:
            return self._step()
        except FedloraError as error:
            if not is_temporary(error):
                raise
            what = "ledger unreachable" if is_unreachable(error) else "ledger busy"
            _log.warning("%s, reading the chain again shortly: %s", what, error)
            return StepOutcome(Action.WAIT, self._round_number, f"{what}: {error}")

    def _step(self) -> StepOutcome:
        session = self._ledger.get_session(self.session_id)
        if session.status == "open":
            return StepOutcome(Action.WAIT, 0, "session not started")
        self._round_number = session.current_round
        round_ = self._ledger.get_round(self.session_id, session.current_round)
        action = decide(self.node_id, session.status, round_, self._clock())
        key = RoundKey(self.session_id, session.current_round)
        timed_before = len(self._executor.timings)
        try:
            detail = self._act(action, session, round_, key)
        except PeerInputError as error:
            # Another member's input is missing or bad: wait, read the chain again; the round
            # moves on by its deadline if this node cannot act.
            _log.warning("round %d: %s: %s", key.round_number, action.value, error)
            return StepOutcome(Action.WAIT, key.round_number, f"peer input unusable: {error}")
        except FedloraError as error:
            if any(code in str(error) for code in BENIGN_CODES):
                _log.warning("round %d: %s refused: %s", key.round_number, action.value, error)
                return StepOutcome(Action.WAIT, key.round_number, f"chain moved on: {error}")
            raise
        for timing in self._executor.timings[timed_before:]:
            detail = f"{detail} ({timing.describe()})"
        return StepOutcome(action, key.round_number, detail)

    def _act(self, action: Action, session: Session, round_: Round, key: RoundKey) -> str:
        if action is Action.TRAIN:
            return self._train_once(session, key)
        if action is Action.AGGREGATE:
            return self._executor.aggregate(session, round_, key).sha256
        if action is Action.ENDORSE:
            return "accepted" if self._executor.endorse(session, round_, key) else "rejected"
        if action is Action.WAIT and round_.phase in ("collecting", "aggregating"):
            fetched = self._executor.prefetch_updates(round_)
            return f"prefetched {fetched} update(s)" if fetched else ""
        if action is Action.REPORT_TIMEOUT:
            self._ledger.report_timeout(key.session_id, key.round_number)
            return "deadline passed"
        if action is Action.ADVANCE:
            self._executor.advance(session, round_)
            return round_.final_sha256
        if action is Action.STOP and session.status == "completed":
            self.final_adapter = self._executor.advance(session, round_)
            return round_.final_sha256
        return ""

    def _train_once(self, session: Session, key: RoundKey) -> str:
        """Train and submit, or resubmit an update trained before a restart."""
        pending_file = self._pending_file(key)
        if pending_file.is_file():
            pending = PendingUpdate.load(pending_file)
            self._executor.resubmit(key, pending)
            return pending.sha256
        return self._executor.train(session, key, record_to=pending_file)

    def _pending_file(self, key: RoundKey) -> Path:
        return self._state_dir / "pending" / f"{key.session_id}-{key.round_number:04d}.json"
