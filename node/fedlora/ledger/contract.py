"""The consortium contract as typed Python: one method per transaction or query of the API.

    contract = ConsortiumContract(gateway.network("fedlora").contract("fedlora", "fedlora"))
    session = contract.get_session("s1")
    round_state = contract.submit_update("s1", 1, sha256, 120, {"loss": 0.8})

Arguments are checked before anything is sent (a bad hash or round number raises a
:class:`~fedlora.errors.FedloraError` at once); answers are decoded strictly into the records
of :mod:`fedlora.ledger.records`, and record arguments (a SessionSpec, a ProposalDraft) are
encoded from them. A contract rejection arrives as a
:class:`~fedlora.ledger.errors.GatewayError` whose ``chaincode.code`` is the ``[CODE]``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Protocol, TypeVar

from fedlora.digests import is_sha256_hex
from fedlora.errors import FedloraError
from fedlora.ledger._json import argument, decode, decode_list
from fedlora.ledger.errors import GatewayError
from fedlora.ledger.proposal import Arg
from fedlora.ledger.records import (
    HistoryEntry,
    Lineage,
    Node,
    Page,
    ProposalDraft,
    Round,
    Session,
    SessionSpec,
    Trail,
)

_HISTORY_PARTS = {"node": 1, "session": 1, "round": 2}
_MAX_PAGE_SIZE = 1000  # the contract's maxPageSize
T = TypeVar("T")


class ContractPort(Protocol):
    """What the wrapper needs from a Gateway contract (the real one or a fake)."""

    def evaluate(self, name: str, *args: Arg) -> bytes:
        """Run a query."""
        ...

    def submit(self, name: str, *args: Arg) -> bytes:
        """Run a transaction and wait for its commit."""
        ...


def elect_aggregator(participants: Sequence[str], round_number: int, attempt: int) -> str:
    """The chaincode's election rule: ``sorted(participants)[(round + attempt) mod n]``.

    Parameters
    ----------
    participants
        Participant node ids, in any order.
    round_number
        The round, counting from 1.
    attempt
        The failover attempt within the round, counting from 0.
    """
    if not participants:
        raise FedloraError("cannot elect an aggregator among no participants", "start the session")
    if round_number < 1 or attempt < 0:
        raise FedloraError(
            f"invalid round {round_number} / attempt {attempt}",
            "rounds count from 1, attempts from 0",
        )
    ordered = sorted(participants)
    return ordered[(round_number + attempt) % len(ordered)]


def rejection_code(error: BaseException) -> str | None:
    """The contract's ``[CODE]`` if ``error`` is a contract rejection, else ``None``."""
    if isinstance(error, GatewayError) and error.chaincode is not None:
        return error.chaincode.code
    return None


class ConsortiumContract:
    """Typed access to the ``fedlora`` chaincode through a Gateway contract."""

    def __init__(self, contract: ContractPort) -> None:
        self._contract = contract

    # ---- nodes ---------------------------------------------------------------------------
    def register_node(self, endpoint: str, tls_cert_sha256: str) -> Node:
        """Register the caller as a node (identity comes from its certificate)."""
        _check_text("endpoint", endpoint)
        _check_sha256("tlsCertSha256", tls_cert_sha256)
        return self._one("RegisterNode", Node, endpoint, tls_cert_sha256)

    def update_node(self, endpoint: str, tls_cert_sha256: str) -> Node:
        """Change the caller's endpoint or TLS certificate fingerprint."""
        _check_text("endpoint", endpoint)
        _check_sha256("tlsCertSha256", tls_cert_sha256)
        return self._one("UpdateNode", Node, endpoint, tls_cert_sha256)

    def deactivate_node(self, node_id: str) -> Node:
        """Deactivate a node (the node itself or its org's admin)."""
        _check_text("nodeId", node_id)
        return self._one("DeactivateNode", Node, node_id)

    def get_node(self, node_id: str) -> Node:
        """One node by id."""
        return self._one("GetNode", Node, node_id, query=True)

    def node_endpoint(self, node_id: str) -> str:
        """The registered AdapterExchange endpoint of a node."""
        return self.get_node(node_id).endpoint

    def list_nodes(self) -> tuple[Node, ...]:
        """All registered nodes, sorted by id."""
        return self._many("ListNodes", Node)

    def list_nodes_page(self, page_size: int, bookmark: str = "") -> Page[Node]:
        """Up to ``page_size`` nodes from ``bookmark`` ("" for the first page), sorted by id."""
        _check_page_size(page_size)
        return self._one("ListNodesPage", Page[Node], str(page_size), bookmark, query=True)

    # ---- sessions ------------------------------------------------------------------------
    def create_session(self, spec: SessionSpec) -> Session:
        """Create a session (org admin only)."""
        _check_text("sessionId", spec.session_id)
        return self._one("CreateSession", Session, argument(spec))

    def join_session(self, session_id: str) -> Session:
        """Join an open session as the caller's node."""
        return self._one("JoinSession", Session, session_id)

    def start_session(self, session_id: str) -> Session:
        """Fix the participants and open round 1 (the creator only)."""
        return self._one("StartSession", Session, session_id)

    def get_session(self, session_id: str) -> Session:
        """One session by id."""
        return self._one("GetSession", Session, session_id, query=True)

    def list_sessions(self) -> tuple[Session, ...]:
        """All sessions, sorted by id."""
        return self._many("ListSessions", Session)

    def list_sessions_page(self, page_size: int, bookmark: str = "") -> Page[Session]:
        """Up to ``page_size`` sessions from ``bookmark`` ("" for the first page), sorted by id."""
        _check_page_size(page_size)
        return self._one("ListSessionsPage", Page[Session], str(page_size), bookmark, query=True)

    # ---- rounds --------------------------------------------------------------------------
    def submit_update(
        self,
        session_id: str,
        round_number: int,
        sha256: str,
        num_examples: int,
        metrics: Mapping[str, float],
        epsilon_spent: float | None = None,
    ) -> Round:
        """Record the caller's local update for a round.

        ``epsilon_spent`` is the epsilon this node has spent in the session so far, this update
        included; a session with a privacy budget requires it, one without refuses it unless 0.
        It is sent only when given, so the call is the five-argument one otherwise.
        """
        _check_round(round_number)
        _check_sha256("sha256", sha256)
        if num_examples < 1:
            raise FedloraError(f"numExamples must be positive, got {num_examples}", "count them")
        _check_numbers("metrics", metrics)
        args = [str(round_number), sha256, str(num_examples), argument(dict(metrics))]
        if epsilon_spent is not None:
            args.append(_epsilon_argument(epsilon_spent))
        return self._one("SubmitUpdate", Round, session_id, *args)

    def propose_aggregate(self, session_id: str, round_number: int, draft: ProposalDraft) -> Round:
        """Propose the aggregate (the elected aggregator only); the round moves to endorsing."""
        _check_round(round_number)
        _check_sha256("sha256", draft.sha256)
        for item in draft.inputs:
            _check_sha256(f"input of {item.node_id}", item.sha256)
        if draft.optimizer_state_sha256:
            _check_sha256("optimizerStateSha256", draft.optimizer_state_sha256)
        _check_numbers("weights", draft.weights)
        payload = argument(draft)
        return self._one("ProposeAggregate", Round, session_id, str(round_number), payload)

    def endorse_aggregate(
        self, session_id: str, round_number: int, sha256: str, accept: bool, reason: str = ""
    ) -> Round:
        """Accept or reject the current proposal; a rejection needs a reason."""
        _check_round(round_number)
        _check_sha256("sha256", sha256)
        if not accept and not reason.strip():
            raise FedloraError("a rejection needs a reason", "say why the aggregate is wrong")
        verdict = "true" if accept else "false"
        args = (str(round_number), sha256, verdict, fit_reason(reason))
        return self._one("EndorseAggregate", Round, session_id, *args)

    def report_timeout(self, session_id: str, round_number: int) -> Round:
        """Report that the round's phase deadline has passed (fail over or fail the round)."""
        _check_round(round_number)
        return self._one("ReportTimeout", Round, session_id, str(round_number))

    def get_round(self, session_id: str, round_number: int) -> Round:
        """One round of a session."""
        _check_round(round_number)
        return self._one("GetRound", Round, session_id, str(round_number), query=True)

    # ---- audit ---------------------------------------------------------------------------
    def history(self, kind: str, *id_parts: str) -> tuple[HistoryEntry, ...]:
        """Every committed version of a node, session or round key ("round" takes id and round)."""
        if _HISTORY_PARTS.get(kind) != len(id_parts):
            raise FedloraError(
                f"history of {kind!r} with {len(id_parts)} id parts is not a ledger key",
                'use ("node", nodeId), ("session", sessionId) or ("round", sessionId, round)',
            )
        return self._many("History", HistoryEntry, kind, *id_parts)

    def adapter_lineage(self, sha256: str, session_id: str = "") -> Lineage:
        """Where an adapter came from and who vouched for it (in ``session_id``, if given).

        Without a session the contract answers the hash's only record, or its only final one.
        """
        _check_sha256("sha256", sha256)
        args = (sha256, session_id) if session_id else (sha256,)
        return self._one("AdapterLineage", Lineage, *args, query=True)

    def export_trail(self, session_id: str) -> Trail:
        """The whole audit trail of a session."""
        return self._one("ExportTrail", Trail, session_id, query=True)

    # ---- plumbing ------------------------------------------------------------------------
    def _one(self, name: str, kind: type[T], *args: str, query: bool = False) -> T:
        call = self._contract.evaluate if query else self._contract.submit
        return decode(call(name, *args), kind, name)

    def _many(self, name: str, kind: type[T], *args: str) -> tuple[T, ...]:
        return decode_list(self._contract.evaluate(name, *args), kind, name)


def _check_text(name: str, value: str) -> None:
    if not value.strip():
        raise FedloraError(f"{name} is empty", f"give a {name}")


def _check_sha256(name: str, value: str) -> None:
    if not is_sha256_hex(value):
        raise FedloraError(
            f"{name} {value!r} is not a SHA-256 hex digest", "expected 64 lowercase hex characters"
        )


def _check_page_size(page_size: int) -> None:
    if isinstance(page_size, bool) or not 1 <= page_size <= _MAX_PAGE_SIZE:
        raise FedloraError(f"invalid page size {page_size!r}", f"ask for 1..{_MAX_PAGE_SIZE}")


def _check_round(round_number: int) -> None:
    if isinstance(round_number, bool) or not isinstance(round_number, int) or round_number < 1:
        raise FedloraError(f"invalid round {round_number!r}", "rounds count from 1")


# The contract refuses a verdict reason longer than this many bytes (maxTextLength in Go).
MAX_REASON_BYTES = 256


def fit_reason(reason: str) -> str:
    """``reason`` cut to what the contract accepts, on a character boundary, marked with "...".

    A rejection's reason often quotes what a peer sent or an exception; the verdict matters,
    and a long reason must not make the endorsement itself fail (the node logs it whole).
    """
    encoded = reason.encode("utf-8")
    if len(encoded) <= MAX_REASON_BYTES:
        return reason
    cut = encoded[: MAX_REASON_BYTES - 3].decode("utf-8", errors="ignore")
    return cut + "..."


def _epsilon_argument(value: float) -> str:
    """The epsilonSpent argument: a finite number >= 0 in decimal (``repr`` round-trips)."""
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else math.nan
    if not (math.isfinite(number) and number >= 0):
        raise FedloraError(
            f"epsilonSpent {value!r} is not a finite number >= 0", "pass the spent epsilon"
        )
    return repr(float(number))


def _check_numbers(name: str, values: Mapping[str, float]) -> None:
    for key, value in values.items():
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise FedloraError(f"{name}[{key!r}] = {value!r} is not a finite number", "fix it")
