"""One node on its own host (network namespace): real coordinator, store and mTLS exchange.

Test support, started by test_hosts_netns.py as
``ip netns exec <host> python -m tests.integration.netns_node CONFIG.json``. Only training
(FakeTrainer) and the chain (the served FakeLedger) are stand-ins; the node runs the daemon's
own loop (Coordinator.run). A chain call that fails because the link is down is retried on a
fresh connection, as the Gateway client does. The
node writes RESULT.json when the session is over.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from tests.integration.chain_service import ChainClient
from tests.unit.daemon.test_coordinator import FakeTrainer

from fedlora.artifacts import ContentStore
from fedlora.daemon.coordinator import Coordinator, StepOutcome
from fedlora.daemon.decide import Action
from fedlora.daemon.rounds import RoundExecutor
from fedlora.daemon.wiring import PeerFetcher, StoreSource
from fedlora.errors import FedloraError
from fedlora.transport import ArtifactServer, StaticAuthorizer, TlsMaterial, TrafficCounter

_log = logging.getLogger("netns_node")


class ReconnectingChain:
    """Forwards each call to the served chain; reconnects after a broken connection."""

    def __init__(self, address: tuple[str, int], authkey: bytes, node_id: str) -> None:
        self._address, self._authkey, self._node_id = address, authkey, node_id
        self._view: Any = None

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any) -> Any:
            while True:
                try:
                    return getattr(self._connected(), name)(*args)
                except FedloraError:
                    raise  # the chain answered: a rule said no
                except (OSError, EOFError) as error:
                    _log.warning("chain call %s failed (%s); reconnecting", name, error)
                    self._view = None
                    time.sleep(0.5)

        return call

    def _connected(self) -> Any:
        if self._view is None:
            client = ChainClient(address=self._address, authkey=self._authkey)
            client.connect()
            self._view = client.view(self._node_id)  # type: ignore[attr-defined]
        return self._view


def main(config_path: str) -> None:
    config = json.loads(Path(config_path).read_text())
    node, state = config["node"], Path(config["state_dir"])
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s {node} %(name)s %(message)s")
    chain = ReconnectingChain(
        (config["chain_host"], config["chain_port"]), bytes.fromhex(config["authkey"]), node
    )
    tls = TlsMaterial(
        config["cert_pem"].encode(), config["key_pem"].encode(),
        tuple(ca.encode() for ca in config["trusted_pems"]),
    )  # fmt: skip
    store = ContentStore(state / "artifacts")
    server = ArtifactServer(
        source=StoreSource(store),
        authorizer=StaticAuthorizer(config["fingerprints"]),
        tls=tls,
        node_id=node,
        address=f"{config['listen']}:0",
    )
    chain.set_endpoint(f"{config['listen']}:{server.start()}", tls.fingerprint)
    fetcher = PeerFetcher(chain, tls, 1 << 20, TrafficCounter())  # type: ignore[arg-type]
    trainer = FakeTrainer(config["index"])
    executor = RoundExecutor(node, chain, store, trainer, fetcher)  # type: ignore[arg-type]
    coordinator = Coordinator(config["session"], executor, chain, state / "coordinator")  # type: ignore[arg-type]
    steps = _run(coordinator)
    final = coordinator.final_adapter
    result = {"steps": steps, "trained_rounds": trainer.calls, "has_final": final is not None}
    Path(config["result"]).write_text(json.dumps(result))
    # Keep serving until told to stop: a peer that lagged behind still has to fetch the final
    # aggregate from someone.
    stop_file, deadline = Path(config["stop_file"]), time.monotonic() + 300
    while not stop_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    server.stop()


def _run(coordinator: Coordinator) -> list[list[Any]]:
    """The daemon's own loop until STOP; what each step did, with a timestamp, for the test."""
    steps: list[list[Any]] = []

    def record(outcome: StepOutcome) -> None:
        if outcome.action is not Action.WAIT:
            _log.info("%s round %d: %s", outcome.action.name, outcome.round_number, outcome.detail)
            steps.append([time.time(), outcome.action.name, outcome.round_number, outcome.detail])

    coordinator.run(poll_seconds=0.2, on_step=record)
    return steps


if __name__ == "__main__":
    main(sys.argv[1])
