"""`fedlora node start`: run one node through one session, end to end.

Start the AdapterExchange server, follow the chaincode's events (they only wake the
coordinator; the chain's state is always read back, so a missed event costs a poll interval,
never correctness), step the coordinator until the session ends, and write the final global
adapter in the standard PEFT layout.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import msgspec

from fedlora.artifacts import ContentStore, Tensors
from fedlora.config import NodeConfig
from fedlora.daemon.coordinator import Coordinator, StepOutcome
from fedlora.daemon.linger import latecomers, serve_latecomers
from fedlora.daemon.local_training import NodeTrainer, check_base_model, load_local_data
from fedlora.daemon.model_card import render_model_card
from fedlora.daemon.outcome import ActionTiming, NodeOutcome, PersonalProvenance, write_outcome
from fedlora.daemon.privacy import PrivacySpend
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
from fedlora.fileio import write_atomic
from fedlora.ledger import (
    FileCheckpointer,
    Gateway,
    LedgerDataError,
    Session,
    parse_ledger_event,
)
from fedlora.transport import ArtifactServer, TrafficCounter

_log = logging.getLogger("fedlora.daemon")


class SessionFailedError(FedloraError):
    """The session ended without an endorsed final adapter."""


def run_node(
    config: NodeConfig, session_id: str, on_step: Callable[[StepOutcome], None] | None = None
) -> NodeOutcome:
    """Take part in ``session_id`` until it completes; return its outcome (also on disk)."""
    gateway, contract, node_id = open_contract(config)
    with gateway:
        ledger = ChainLedger(contract)
        session = ledger.get_session(session_id)
        data = load_local_data(config.training, session.dataset_tag)
        freeze_a = strategy_for(session).lora_mode == "ffa"  # FFA rules train lora_B only
        privacy = privacy_spend(config, session)
        trainer = NodeTrainer(config.training, session.lora, data, freeze_a, privacy)
        check_base_model(trainer, config.training.model, session)
        store = ContentStore(config.data_dir / "artifacts")
        tls, traffic = node_tls(config), TrafficCounter()
        fetcher = PeerFetcher(ledger, tls, config.exchange.max_artifact_bytes, traffic)
        seed = config.training.seed
        executor = RoundExecutor(node_id, ledger, store, trainer, fetcher, seed=seed)
        coordinator = Coordinator(session_id, executor, ledger, config.data_dir)
        server = ArtifactServer(
            source=SessionStoreSource(store, contract, session_id),
            authorizer=ChainAuthorizer(contract, session_id),
            tls=tls,
            node_id=node_id,
            address=config.exchange.listen,
            traffic=traffic,
        )
        with server, closing(fetcher):
            _follow_events(gateway, config, session_id, coordinator)
            coordinator.run(on_step=on_step)
            session = ledger.get_session(session_id)
            final_round = ledger.get_round(session_id, session.current_round)
            waiting = latecomers(node_id, session, final_round)
            serve_latecomers(waiting, final_round.final_sha256, traffic)
        final = _FinalWriter(config, trainer, ledger, store, node_id)
        return _finish(config, session_id, coordinator, final, traffic, executor.timings)


def privacy_spend(config: NodeConfig, session: Session) -> PrivacySpend | None:
    """This node's DP spending in ``session`` (None without a budget), kept in its data folder."""
    if session.privacy is None:
        return None
    path = config.data_dir / "privacy" / f"{session.session_id}.json"
    return PrivacySpend(session.privacy, path)


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


class _FinalWriter:
    """Writes a completed session's final adapter folder: the chain's bytes and a model card."""

    def __init__(
        self,
        config: NodeConfig,
        trainer: NodeTrainer,
        ledger: ChainLedger,
        store: ContentStore,
        node_id: str,
    ) -> None:
        self.config, self.trainer, self.ledger = config, trainer, ledger
        self.store, self.node_id = store, node_id

    def write(self, session: Session, tensors: Tensors) -> tuple[Path, float]:
        """Write ``final/<session>/``; return the folder and this node's accuracy on it.

        ``adapter_model.safetensors`` is the artifact the chain names, read back from the
        node's store (which checked its hash), so ``sha256sum`` of the file is that hash.
        """
        accuracy = self.trainer.evaluate(tensors)
        artifact = self.store.get(session.final_adapter_sha256)
        trail = self.ledger.contract.export_trail(session.session_id)
        card = render_model_card(trail, self.node_id, accuracy, self.trainer.base_model_path)
        adapter_dir = self.config.data_dir / "final" / session.session_id
        self.trainer.save_peft(tensors, adapter_dir, artifact=artifact, card=card)
        return adapter_dir, accuracy

    def write_personal(self, session: Session, tensors: Tensors) -> tuple[Path, float] | None:
        """Fine-tune the final adapter on local data into ``personal/<session>/``, if configured.

        The personal adapter never leaves the site and is not on chain; its folder records
        which endorsed global adapter (session, round, hash) it started from.
        """
        steps = self.config.training.personalize_steps
        if not steps:
            return None
        personal = self.trainer.personalize(tensors, steps)
        accuracy = self.trainer.evaluate(personal)
        started_from = PersonalProvenance(
            session_id=session.session_id, global_round=session.current_round,
            global_sha256=session.final_adapter_sha256, steps=steps, accuracy=accuracy,
        )  # fmt: skip
        personal_dir = self.config.data_dir / "personal" / session.session_id
        self.trainer.save_peft(personal, personal_dir, card=started_from.card())
        write_atomic(personal_dir / "provenance.json", msgspec.json.encode(started_from))
        return personal_dir, accuracy


def _finish(
    config: NodeConfig,
    session_id: str,
    coordinator: Coordinator,
    final: _FinalWriter,
    traffic: TrafficCounter,
    timings: list[ActionTiming],
) -> NodeOutcome:
    """Write the session's outcome; a session that did not complete raises, naming the reason.

    The adapter of a failed session is never written out as a final one: the chain did not
    endorse it as the session's result.
    """
    session = final.ledger.get_session(session_id)
    if session.status != "completed" or coordinator.final_adapter is None:
        reason = session.failure_reason or f"the chain records the session as {session.status}"
        write_outcome(config.data_dir, NodeOutcome(
            session_id=session_id, status=session.status, reason=reason,
            traffic=traffic.snapshot(), timings=tuple(timings),
        ))  # fmt: skip
        raise SessionFailedError(
            f"session {session_id} {session.status}: {reason}",
            f"no final adapter was written; `fedlora session status --id {session_id}` "
            "shows every round",
        )
    adapter_dir, accuracy = final.write(session, coordinator.final_adapter)
    personal = final.write_personal(session, coordinator.final_adapter)
    outcome = NodeOutcome(
        session_id=session_id, status=session.status, final_sha256=session.final_adapter_sha256,
        adapter_dir=str(adapter_dir), accuracy=accuracy,
        personal_dir=str(personal[0]) if personal else "",
        personal_accuracy=personal[1] if personal else None,
        compute_seconds=round(final.trainer.compute_seconds, 3), traffic=traffic.snapshot(),
        timings=tuple(timings),
    )  # fmt: skip
    write_outcome(config.data_dir, outcome)
    return outcome
