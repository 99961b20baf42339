"""`fedlora demo`: a 3-org consortium fine-tunes SmolLM2 on non-IID ICD-10-CM coding.

The demo drives exactly what operators would run by hand: `fedlora network up`, one
`fedlora node init` + `node join` per org, a session created and started by Org1's admin, and
one `fedlora node start` process per node. Each node holds only its own site's shard. At the end
it reads the per-site accuracy each node measured before and after, and the audit trail.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fedlora.config import load_node_config
from fedlora.daemon.nodefiles import init_node_folder, request_for_org
from fedlora.daemon.wiring import node_tls, open_contract
from fedlora.errors import FedloraError
from fedlora.network import NetworkLayout, up
from fedlora.network.state import NetworkState


@dataclass(frozen=True)
class DemoSettings:
    """The knobs of the demo (see `fedlora demo --help`)."""

    root: Path
    model: str = "smollm2"
    rounds: int = 5
    steps: int = 30
    batch_size: int = 8
    top_layers: int = 4
    lr: float = 2e-3
    alpha: float = 0.1
    rule: str = "fedlora"
    session_id: str = "demo"
    deadline_seconds: int = 900


@dataclass(frozen=True)
class DemoNode:
    """One org's node in the demo."""

    node_id: str
    site: str
    config_path: Path


Report = Callable[[str], None]


def start_network(settings: DemoSettings, report: Report) -> tuple[NetworkState, NetworkLayout]:
    """Bring up (or restart) the demo's 3-org network."""
    result = up(settings.root / "network", orgs=3, report=report)
    return result.state, result.layout


def create_nodes(
    settings: DemoSettings, state: NetworkState, layout: NetworkLayout, report: Report
) -> list[DemoNode]:
    """One node per org, each assigned the matching site of the demo split, registered on chain."""
    nodes = []
    for index, org in enumerate(state.plan.orgs):
        folder = settings.root / "nodes" / org.name.lower()
        site = f"client-{index}"  # the partitioner names sites client-0, client-1, ...
        if not (folder / "node.toml").is_file():
            request = request_for_org(
                state, layout, index + 1, "node1", model=settings.model, site=site
            )
            init_node_folder(request, folder)
            _set_training(folder / "node.toml", settings)
        nodes.append(_register(folder / "node.toml", site, report))
    return nodes


def _set_training(path: Path, settings: DemoSettings) -> None:
    text = path.read_text()
    text += f"steps = {settings.steps}\nbatch_size = {settings.batch_size}\nlr = {settings.lr}\n"
    path.write_text(text)


def _register(config_path: Path, site: str, report: Report) -> DemoNode:
    config = load_node_config(config_path)
    gateway, contract, node_id = open_contract(config)
    with gateway:
        known = {node.node_id for node in contract.list_nodes()}
        if node_id not in known:
            contract.register_node(config.exchange.endpoint, node_tls(config).fingerprint)
    report(f"node {node_id} registered ({site})")
    return DemoNode(node_id, site, config_path)


def start_session(
    settings: DemoSettings, layout: NetworkLayout, state: NetworkState, nodes: list[DemoNode]
) -> None:
    """Org1's admin creates the session for the three nodes and starts it."""
    admin = layout.admin_msp(state.plan.orgs[0])
    command = [
        "session", "create", "--id", settings.session_id, "--config", str(nodes[0].config_path),
        "--admin-msp", str(admin), "--rounds", str(settings.rounds), "--quorum", "2",
        "--rule", settings.rule, "--model", settings.model,
        "--top-layers", str(settings.top_layers),
        "--dataset", f"icd10:dirichlet:{settings.alpha}:3:0", "--deadline",
        str(settings.deadline_seconds), "--participants", ",".join(n.node_id for n in nodes),
    ]  # fmt: skip
    _fedlora(command)
    _fedlora(["session", "start", "--id", settings.session_id, "--config",
              str(nodes[0].config_path), "--admin-msp", str(admin)])  # fmt: skip


def run_nodes(settings: DemoSettings, nodes: list[DemoNode], report: Report) -> None:
    """One `fedlora node start` process per node; wait for all, reporting their progress."""
    logs = settings.root / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    processes = []
    for node in nodes:
        log = (logs / f"{node.site}.log").open("w")
        command = [*_cli(), "node", "start", "--config", str(node.config_path),
                   "--session", settings.session_id]  # fmt: skip
        processes.append((node, subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)))
    try:
        _wait(processes, logs, report)
    finally:
        for _, process in processes:
            if process.poll() is None:
                process.terminate()


def _wait(processes: list[tuple[DemoNode, Any]], logs: Path, report: Report) -> None:
    seen: dict[str, int] = {}
    while any(process.poll() is None for _, process in processes):
        for node, _ in processes:
            lines = (logs / f"{node.site}.log").read_text(errors="replace").splitlines()
            for line in lines[seen.get(node.site, 0) :]:
                if line.startswith("round "):
                    report(f"{node.site}: {line}")
            seen[node.site] = len(lines)
        time.sleep(1.0)
    failed = [node.site for node, process in processes if process.returncode != 0]
    if failed:
        raise FedloraError(
            f"node(s) {', '.join(failed)} failed", f"see {logs}/<site>.log for the reason"
        )


def collect_results(settings: DemoSettings, nodes: list[DemoNode]) -> list[dict[str, Any]]:
    """Per site: accuracy of the starting adapter and of the final one, on its own test split."""
    config = load_node_config(nodes[0].config_path)
    gateway, contract, _ = open_contract(config)
    with gateway:
        first = contract.get_round(settings.session_id, 1)
    rows = []
    for node in nodes:
        node_config = load_node_config(node.config_path)
        result = json.loads(
            (node_config.data_dir / f"result-{settings.session_id}.json").read_text()
        )
        after = next(iter(result["accuracy"].values()))
        before = first.updates[node.node_id].metrics.get("global_accuracy", float("nan"))
        rows.append({"site": node.site, "node": node.node_id, "before": before, "after": after})
    return rows


def _cli() -> list[str]:
    return [
        sys.executable,
        "-c",
        "import sys; from fedlora.cli.app import main; sys.argv[0] = 'fedlora'; main()",
    ]


def _fedlora(args: list[str]) -> None:
    completed = subprocess.run([*_cli(), *args], capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        last = (completed.stderr or completed.stdout).strip().splitlines()[-1:]
        raise FedloraError(f"`fedlora {' '.join(args[:2])}` failed: {' '.join(last)}")
