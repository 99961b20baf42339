"""The steps of `fedlora demo`: a 3-org consortium fine-tunes SmolLM2 on ICD-10-CM coding.

The demo does what operators would do by hand, through the same library calls the commands
make: bring the network up, enrol and register one node per org (`node init`, `node join`),
create and start the session as Org1's admin (`session create`, `session start`), then run one
`fedlora node start` process per node, as each hospital would on its own machine. Each node
holds only its own site's shard. Progress and results are read from the chain and from each
node's typed result file.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from fedlora.cli.demo_progress import RoundProgress, short_node
from fedlora.cli.session import build_spec
from fedlora.config import load_node_config
from fedlora.daemon.nodefiles import init_node_folder, request_for_org
from fedlora.daemon.outcome import read_outcome
from fedlora.daemon.wiring import node_tls, open_contract
from fedlora.errors import FedloraError
from fedlora.fileio import write_atomic
from fedlora.network import NetworkLayout, up
from fedlora.network.state import NetworkState


@dataclass(frozen=True)
class DemoSettings:
    """The knobs of the demo (see `fedlora demo --help`)."""

    root: Path
    model: str = "smollm2"
    rounds: int = 5
    steps: int = 30
    personalize_steps: int = 30  # each node's personal fine-tune after the session (0: none)
    batch_size: int = 8
    top_layers: int = 4
    lr: float = 2e-3
    alpha: float = 0.1
    rule: str = "fedlora"
    session_id: str = "demo"
    deadline_seconds: int = 900
    nodes_per_org: int = 1  # the nodes of one org (hospital) share its site's shard
    quorum: int = 2
    base_port: int | None = None  # the network's port block; None: the default
    orgs: int = 3


@dataclass(frozen=True)
class DemoNode:
    """One org's node in the demo."""

    node_id: str
    site: str
    config_path: Path


Report = Callable[[str], None]


def start_network(settings: DemoSettings, report: Report) -> tuple[NetworkState, NetworkLayout]:
    """Bring up (or restart) the demo's network (3 orgs unless the settings say otherwise)."""
    folder = settings.root / "network"
    result = up(folder, orgs=settings.orgs, base_port=settings.base_port, report=report)
    return result.state, result.layout


def create_nodes(
    settings: DemoSettings, state: NetworkState, layout: NetworkLayout, report: Report
) -> list[DemoNode]:
    """``nodes_per_org`` nodes per org, on the org's site of the demo split, registered on chain."""
    nodes = []
    for index, org in enumerate(state.plan.orgs):
        site = f"client-{index}"  # the partitioner names sites client-0, client-1, ...
        for number in range(1, settings.nodes_per_org + 1):
            name = f"node{number}"
            folder = settings.root / "nodes" / org.name.lower() / name
            if not (folder / "node.toml").is_file():
                port = state.plan.base_port + 400 + (index + 1) * 10 + number - 1
                request = request_for_org(
                    state, layout, index + 1, name, f"127.0.0.1:{port}", settings.model, site
                )
                init_node_folder(request, folder)
                _set_training(folder / "node.toml", settings)
            nodes.append(_register(folder / "node.toml", site, report))
    return nodes


def _set_training(path: Path, settings: DemoSettings) -> None:
    """The demo's training length and rate, written into the node's own configuration."""
    config = tomllib.loads(path.read_text(encoding="utf-8"))
    config.setdefault("training", {}).update(
        steps=settings.steps,
        batch_size=settings.batch_size,
        lr=settings.lr,
        personalize_steps=settings.personalize_steps,
    )
    write_atomic(path, tomli_w.dumps(config))


def _register(config_path: Path, site: str, report: Report) -> DemoNode:
    config = load_node_config(config_path)
    gateway, contract, node_id = open_contract(config)
    fingerprint = node_tls(config).fingerprint
    with gateway:
        known = {node.node_id: node for node in contract.list_nodes()}
        if node_id not in known:
            contract.register_node(config.exchange.endpoint, fingerprint)
        elif (known[node_id].tls_cert_sha256, known[node_id].endpoint) != (
            fingerprint,
            config.exchange.endpoint,
        ):
            # Peers pin the chain's certificate: this folder's node could never be fetched from.
            raise FedloraError(
                f"node {node_id} is already registered on this network with another TLS "
                "certificate or endpoint than the node folder in "
                f"{config_path.parent}",
                "use that node's original folder, or a new network (fedlora network down --purge)",
            )
    report(f"node {node_id} registered ({site})")
    return DemoNode(node_id, site, config_path)


def start_session(
    settings: DemoSettings, layout: NetworkLayout, state: NetworkState, nodes: list[DemoNode]
) -> None:
    """Org1's admin creates the session for the demo's nodes and starts it."""
    spec = build_spec(
        settings.session_id,
        model=settings.model,
        rounds=settings.rounds,
        quorum=settings.quorum,
        rule=settings.rule,
        dataset=f"icd10:dirichlet:{settings.alpha}:{len(state.plan.orgs)}:0",
        lora=(8, 16.0, settings.top_layers),
        deadline=settings.deadline_seconds,
        participants=tuple(node.node_id for node in nodes),
    )
    admin = layout.admin_msp(state.plan.orgs[0])
    gateway, contract, _ = open_contract(load_node_config(nodes[0].config_path), admin)
    with gateway:
        contract.create_session(spec)
        contract.start_session(settings.session_id)


def run_nodes(settings: DemoSettings, nodes: list[DemoNode], report: Report) -> None:
    """One `fedlora node start` process per node; wait for all, reporting the chain's progress."""
    logs = settings.root / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    # All nodes share this machine: each gets its share of the cores. Left at torch's default,
    # every node runs one compute thread per core and they thrash: with SmolLM2, 3 nodes on
    # 2 cores took 7 minutes per round instead of under one.
    threads = str(max(1, (os.cpu_count() or 1) // len(nodes)))
    env = {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
    processes = []
    for node in nodes:
        log = (logs / f"{short_node(node.node_id)}.log".replace("/", "-")).open("w")
        command = node_start_command(node.config_path, settings.session_id)
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        processes.append((node, process))
    try:
        session = _watch(settings, nodes[0], [process for _, process in processes], report)
    finally:
        for _, process in processes:
            if process.poll() is None:
                process.terminate()
    if session.status != "completed":
        reason = session.failure_reason or f"the chain records it as {session.status}"
        raise FedloraError(f"session {settings.session_id} failed: {reason}", f"see {logs}")
    failed = [short_node(node.node_id) for node, process in processes if process.returncode != 0]
    if failed:
        raise FedloraError(
            f"node(s) {', '.join(failed)} failed", f"see {logs}/<org>-<node>.log for the reason"
        )


def _watch(settings: DemoSettings, reader: DemoNode, processes: list[Any], report: Report) -> Any:
    """Report each change of the current round, as the chain records it, until the nodes exit.

    Returns the session as the chain holds it at the end.
    """
    gateway, contract, _ = open_contract(load_node_config(reader.config_path))
    progress = RoundProgress(settings.rounds, report)
    with gateway:
        while any(process.poll() is None for process in processes):
            progress.observe(contract, settings.session_id)
            time.sleep(1.0)
        return progress.observe(contract, settings.session_id)


def collect_results(settings: DemoSettings, nodes: list[DemoNode]) -> list[dict[str, Any]]:
    """Per site, on its own test split: the starting adapter, the final global one and the
    node's personal adapter (NaN where the node made none)."""
    config = load_node_config(nodes[0].config_path)
    gateway, contract, _ = open_contract(config)
    with gateway:
        first = contract.get_round(settings.session_id, 1)
    rows = []
    for node in nodes:
        outcome = read_outcome(load_node_config(node.config_path).data_dir, settings.session_id)
        update = first.updates.get(node.node_id)
        before = update.metrics.get("global_accuracy", math.nan) if update else math.nan
        after = math.nan if outcome.accuracy is None else outcome.accuracy
        personal = outcome.personal_accuracy
        rows.append(
            {
                "site": node.site,
                "node": node.node_id,
                "before": before,
                "after": after,
                "personal": math.nan if personal is None else personal,
                "adapter_dir": outcome.adapter_dir,
                "personal_dir": outcome.personal_dir,
                "compute_seconds": outcome.compute_seconds,
            }
        )
    return rows


def node_start_command(config_path: Path, session_id: str) -> list[str]:
    """The command line of one node's daemon, as its operator would run it."""
    cli = "from fedlora.cli.app import main; main()"
    args = ["node", "start", "--config", str(config_path), "--session", session_id]
    return [sys.executable, "-c", f"import sys; sys.argv[0] = 'fedlora'; {cli}", *args]
