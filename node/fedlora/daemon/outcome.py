"""What a node leaves behind when its session ends: one typed record, written and read here.

`fedlora node start` writes it to ``<data_dir>/result-<session>.json``; the demo, the tests and
an operator's scripts read it back through :func:`read_outcome`, never by guessing its keys.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import msgspec

from fedlora.errors import FedloraError
from fedlora.fileio import write_atomic
from fedlora.transport import PeerTraffic


class ActionTiming(msgspec.Struct, frozen=True, kw_only=True):
    """Where one protocol action of one round spent its time on this node.

    ``action`` is "train", "propose" or "endorse". ``fetch_s`` is the time spent pulling
    artifacts from peers, ``work_s`` the rest of the work before the transaction (training; or
    validating and aggregating), ``commit_s`` the transaction from submission to its commit.
    """

    round: int
    action: str
    fetch_s: float
    work_s: float
    commit_s: float

    def describe(self) -> str:
        """E.g. "fetch 0.21 s, work 0.13 s, commit 0.34 s"."""
        return f"fetch {self.fetch_s:.2f} s, work {self.work_s:.2f} s, commit {self.commit_s:.2f} s"


class PersonalProvenance(msgspec.Struct, frozen=True, kw_only=True):
    """Where a node's personal adapter came from: the endorsed global adapter it started from."""

    session_id: str
    global_round: int
    global_sha256: str
    steps: int
    accuracy: float

    def card(self) -> str:
        """The personal adapter folder's README.md."""
        return (
            "# Personal adapter (never shared)\n\n"
            f"Fine-tuned {self.steps} steps on this site's own data from the global adapter "
            f"`{self.global_sha256}` of session `{self.session_id}`, round {self.global_round} "
            f"(verify that one with `fedlora audit verify`). Accuracy on this site's test "
            f"split: {100 * self.accuracy:.1f} %. It is not on chain and must not leave the site.\n"
        )


class NodeOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """One node's end of one session.

    ``status`` is the session's on the chain ("completed" or "failed"); a failed session has a
    ``reason`` and no final adapter. ``accuracy`` is the final adapter's on this node's own test
    split, ``personal_accuracy`` that of the personal adapter in ``personal_dir`` (when the node
    fine-tunes one); ``compute_seconds`` the time this node spent training and evaluating;
    ``traffic`` what went to and came from each peer; ``timings`` each action it took, in order.
    """

    session_id: str
    status: str
    reason: str = ""
    final_sha256: str = ""
    adapter_dir: str = ""
    accuracy: float | None = None
    personal_dir: str = ""
    personal_accuracy: float | None = None
    compute_seconds: float = 0.0
    traffic: dict[str, PeerTraffic] = msgspec.field(default_factory=dict)
    timings: tuple[ActionTiming, ...] = ()


class ActionClock:
    """Splits one action into fetching, other work and the commit of its transaction.

    ``fetched`` reads the executor's running total of seconds spent fetching from peers.
    """

    def __init__(self, fetched: Callable[[], float]) -> None:
        self._fetched = fetched
        self._started, self._fetched_before = time.perf_counter(), fetched()
        self._work_done = self._started

    def work_done(self) -> None:
        """Mark the end of the work: the transaction is submitted next."""
        self._work_done = time.perf_counter()

    def timing(self, round_number: int, action: str) -> ActionTiming:
        """The action's timing, once its transaction has committed."""
        fetch_s = self._fetched() - self._fetched_before
        return ActionTiming(
            round=round_number,
            action=action,
            fetch_s=round(fetch_s, 4),
            work_s=round(self._work_done - self._started - fetch_s, 4),
            commit_s=round(time.perf_counter() - self._work_done, 4),
        )


def outcome_path(data_dir: Path, session_id: str) -> Path:
    """Where a node keeps its outcome of ``session_id``."""
    return data_dir / f"result-{session_id}.json"


def write_outcome(data_dir: Path, outcome: NodeOutcome) -> Path:
    """Write ``outcome`` atomically; returns its path."""
    path = outcome_path(data_dir, outcome.session_id)
    write_atomic(path, msgspec.json.format(msgspec.json.encode(outcome), indent=2))
    return path


def read_outcome(data_dir: Path, session_id: str) -> NodeOutcome:
    """The outcome a node wrote for ``session_id``."""
    path = outcome_path(data_dir, session_id)
    try:
        return msgspec.json.decode(path.read_bytes(), type=NodeOutcome)
    except FileNotFoundError:
        raise FedloraError(
            f"{path} does not exist", "the node has not finished this session yet"
        ) from None
    except msgspec.ValidationError as error:
        raise FedloraError(f"{path} is not a node outcome: {error}", "remove it") from None
