"""`fedlora node start`: run one node through one session, end to end.

Start the AdapterExchange server, follow the chaincode's events (they only wake the
coordinator; the chain's state is always read back, so a missed event costs a poll interval,
never correctness), step the coordinator until the session ends, and write the final global
adapter in the standard PEFT layout.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fedlora.artifacts import ContentStore
from fedlora.config import NodeConfig
from fedlora.daemon.coordinator import Coordinator, StepOutcome
from fedlora.daemon.linger import latecomers, serve_latecomers
from fedlora.daemon.local_training import NodeTrainer, check_base_model, load_local_data
from fedlora.daemon.rounds import RoundExecutor, strategy_for
from fedlora.daemon.wiring import (
    ChainAuthorizer,
    ChainLedger,
    PeerFetcher,
    SessionStoreSource,
    node_tls,
    open_contract,
)
from fedlora.errors import FedloraError
from fedlora.fileio import write_json_atomic
from fedlora.ledger import FileCheckpointer, Gateway, LedgerDataError, parse_ledger_event
from fedlora.transport import ArtifactServer, PeerTraffic, TrafficCounter

_log = logging.getLogger("fedlora.daemon")


class SessionFailedError(FedloraError):
    """The session ended without an endorsed final adapter."""


@dataclass(frozen=True)
class NodeRunResult:
    """Where the session's outcome was written."""

    session_id: str
    final_sha256: str
    adapter_dir: Path
    accuracy_by_round: dict[int, float]
    traffic: dict[str, PeerTraffic]


def run_node(
    config: NodeConfig, session_id: str, on_step: Callable[[StepOutcome], None] | None = None
) -> NodeRunResult:
    """Take part in ``session_id`` until it completes; return where the final adapter went."""
    gateway, contract, node_id = open_contract(config)
    with gateway:
        ledger = ChainLedger(contract)
        session = ledger.get_session(session_id)
        data = load_local_data(config.training, session.dataset_tag)
        freeze_a = strategy_for(session).lora_mode == "ffa"  # FFA rules train lora_B only
        trainer = NodeTrainer(config.training, session.lora, data, freeze_a=freeze_a)
        check_base_model(trainer, config.training.model, session)
        store = ContentStore(config.data_dir / "artifacts")
        tls, traffic = node_tls(config), TrafficCounter()
        executor = RoundExecutor(
            node_id,
            ledger,
            store,
            trainer,
            PeerFetcher(ledger, tls, config.exchange.max_artifact_bytes, traffic),
            seed=config.training.seed,
        )
        coordinator = Coordinator(session_id, executor, ledger, config.data_dir)
        server = ArtifactServer(
            source=SessionStoreSource(store, contract, session_id),
            authorizer=ChainAuthorizer(contract, session_id),
            tls=tls,
            node_id=node_id,
            address=config.exchange.listen,
            traffic=traffic,
        )
        with server:
            _follow_events(gateway, config, session_id, coordinator)
            coordinator.run(on_step=on_step)
            session = ledger.get_session(session_id)
            final_round = ledger.get_round(session_id, session.current_round)
            waiting = latecomers(node_id, session, final_round)
            serve_latecomers(waiting, final_round.final_sha256, traffic)
        return _finish(config, session_id, coordinator, trainer, ledger, traffic)


def _follow_events(
    gateway: Gateway, config: NodeConfig, session_id: str, coordinator: Coordinator
) -> None:
    """Wake the coordinator on every event of this session, from a daemon thread."""
    checkpoints = FileCheckpointer(config.data_dir / f"events-{session_id}.checkpoint")
    network = gateway.network(config.fabric.channel)

    def follow() -> None:
        try:
            stream = network.chaincode_events(config.fabric.chaincode, checkpointer=checkpoints)
            for event in stream:
                try:
                    payload = parse_ledger_event(event.event_name, event.payload)
                except LedgerDataError:
                    continue  # an event this client does not know: the poll catches up
                if payload.session_id == session_id:
                    coordinator.wake()
        except Exception as error:  # the poll loop carries on without events
            _log.warning("event stream ended: %s; falling back to polling", error)

    threading.Thread(target=follow, name="fedlora-events", daemon=True).start()


def _finish(
    config: NodeConfig,
    session_id: str,
    coordinator: Coordinator,
    trainer: NodeTrainer,
    ledger: ChainLedger,
    traffic: TrafficCounter,
) -> NodeRunResult:
    """Write the session's outcome; a session that did not complete raises, naming the reason.

    The adapter of a failed session is never written out as a final one: the chain did not
    endorse it as the session's result.
    """
    session = ledger.get_session(session_id)
    traffic_snapshot = traffic.snapshot()
    traffic_by_peer = {peer: dataclasses.asdict(c) for peer, c in traffic_snapshot.items()}
    result_file = config.data_dir / f"result-{session_id}.json"
    if session.status != "completed" or coordinator.final_adapter is None:
        reason = session.failure_reason or f"the chain records the session as {session.status}"
        write_json_atomic(
            result_file, {"status": session.status, "reason": reason, "traffic": traffic_by_peer}
        )
        raise SessionFailedError(
            f"session {session_id} {session.status}: {reason}",
            f"no final adapter was written; `fedlora session status --id {session_id}` "
            "shows every round",
        )
    adapter_dir = config.data_dir / "final" / session_id
    trainer.save_peft(coordinator.final_adapter, adapter_dir)
    accuracy = {session.rounds: trainer.evaluate(coordinator.final_adapter)}
    result = NodeRunResult(
        session_id, session.final_adapter_sha256, adapter_dir, accuracy, traffic_snapshot
    )
    write_json_atomic(
        result_file,
        {
            "status": session.status,
            "final_sha256": result.final_sha256,
            "adapter_dir": str(adapter_dir),
            "accuracy": accuracy,
            "compute_seconds": round(trainer.compute_seconds, 3),
            "traffic": traffic_by_peer,
        },
    )
    return result
