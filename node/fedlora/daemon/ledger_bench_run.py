"""Run the ledger benchmark on a live network: one identity, a Gateway and the peer CLI.

Both clients sign as Org1's admin and talk to Org1's peer: the Gateway through one persistent
gRPC channel (it plans the endorsements itself), the peer CLI as one `peer` process per call,
endorsed by Org1's and Org2's peers (a majority of three, as the channel's policy needs). The
write is CreateSession with a new session id each time: a real consortium transaction whose
writes never conflict, so concurrent submitters measure throughput, not MVCC retries.
"""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil

from fedlora.daemon.ledger_bench import (
    LatencyComparison,
    LedgerBenchReport,
    compare_latency,
    measure_throughput,
)
from fedlora.errors import FedloraError
from fedlora.identity import load_msp_dir
from fedlora.ledger import Contract, Deadlines, Gateway, LoraSpec, Rule, SessionSpec
from fedlora.network import FABRIC_VERSION, FabricInstall, NetworkLayout, down, locate_fabric, up
from fedlora.network.lifecycle import running_processes
from fedlora.network.peer_cli import PeerCli, majority_with
from fedlora.network.state import NetworkState, load_state
from fedlora.network.topology import find_free_base_port

Report = Callable[[str], None]


@dataclass(frozen=True)
class LedgerBenchOptions:
    """How much to measure, and on which network (``None``: start a 3-org one and remove it)."""

    network_dir: Path | None = None
    evaluations: int = 30
    submits: int = 20
    transactions: int = 480
    baseline_transactions: int = 30
    submitters: int = 16


def run_ledger_bench(options: LedgerBenchOptions, report: Report) -> LedgerBenchReport:
    """Measure on the given running network, or on a fresh one that is torn down afterwards."""
    install = locate_fabric()
    if options.network_dir is not None:
        state, layout = _running_network(options.network_dir)
        return _measure(state, layout, install, options, report)
    with tempfile.TemporaryDirectory(prefix="fedlora-ledger-bench-") as scratch:
        folder = Path(scratch) / "network"
        started = up(
            folder, orgs=3, base_port=find_free_base_port(), report=report, install=install
        )
        try:
            return _measure(started.state, started.layout, install, options, report)
        finally:
            report("stop and remove the network")
            down(folder, purge=True)


def _running_network(directory: Path) -> tuple[NetworkState, NetworkLayout]:
    layout = NetworkLayout(directory.resolve())
    state = load_state(layout.state_file)
    if state is None:
        raise FedloraError(
            f"no network in {layout.root}", "pass the folder `fedlora network up --dir` used"
        )
    stopped = sorted(set(state.processes) - set(running_processes(state)))
    if stopped or not state.processes:
        raise FedloraError(
            f"the network in {layout.root} is not running ({', '.join(stopped) or 'nothing'})",
            "start it with `fedlora network up --dir`, or leave out --network-dir",
        )
    return state, layout


def session_spec_json(session_id: str) -> str:
    """A valid CreateSession argument: open enrolment, so no node needs to exist."""
    spec = SessionSpec(
        session_id=session_id,
        base_model="bench",
        base_model_sha256="0" * 64,
        lora=LoraSpec(rank=8, alpha=16.0, dropout=0.0, target_modules=("q_proj",)),
        dataset_tag="bench",
        rounds=1,
        quorum=1,
        deadlines=Deadlines(60, 60, 60),
        rule=Rule("fedavg"),
        participants=(),
    )
    return json.dumps(spec.to_json(), sort_keys=True, separators=(",", ":"))


def _measure(
    state: NetworkState,
    layout: NetworkLayout,
    install: FabricInstall,
    options: LedgerBenchOptions,
    report: Report,
) -> LedgerBenchReport:
    plan, org = state.plan, state.plan.orgs[0]
    msp = load_msp_dir(layout.admin_msp(org), org.msp_id)
    cli = PeerCli.admin(plan, layout, install, org)
    tls_ca = layout.peer_tls_ca(org).read_bytes()
    prefix = f"bench-{uuid.uuid4().hex[:8]}"  # sessions of earlier runs stay on the ledger
    with Gateway.connect(org.peer_address, tls_ca, msp.identity, msp.signer()) as gateway:
        contract = gateway.network(plan.channel).contract(plan.chaincode.name)
        evaluate, submit = _latencies(contract, cli, prefix, options, report)
        report(f"{options.baseline_transactions} transactions, 1 Gateway submitter")
        baseline = measure_throughput(
            _creator(contract, f"{prefix}-t1"), options.baseline_transactions, 1
        )
        report(f"{options.transactions} transactions, {options.submitters} Gateway submitters")
        cpu_before = _cpu_seconds(state)
        concurrent = measure_throughput(
            _creator(contract, f"{prefix}-tn"), options.transactions, options.submitters
        )
        cpu_after = _cpu_seconds(state)
    cpu = {name: round(cpu_after[name] - cpu_before[name], 2) for name in cpu_after}
    setting = _setting(state, options) | {"cpu_seconds_of_concurrent_run": cpu}
    return LedgerBenchReport(evaluate, submit, baseline, concurrent, setting)


def _latencies(
    contract: Contract, cli: PeerCli, prefix: str, options: LedgerBenchOptions, report: Report
) -> tuple[LatencyComparison, LatencyComparison]:
    """The same query, then the same kind of write, through both clients."""
    probe = f"{prefix}-probe"
    # The session both clients read; right after `up` this first Gateway submit also waits
    # (retrying) until the peers' discovery can plan an endorsement.
    contract.submit("CreateSession", session_spec_json(probe))
    report(f"evaluate GetSession x{options.evaluations}: Gateway vs peer chaincode query")
    evaluate = compare_latency(
        "evaluate (GetSession)",
        lambda _: contract.evaluate("GetSession", probe),
        lambda _: cli.query("GetSession", probe),
        options.evaluations,
    )
    report(f"submit CreateSession x{options.submits}: Gateway vs peer chaincode invoke")
    submit = compare_latency(
        "submit to commit (CreateSession)",
        _creator(contract, f"{prefix}-gw"),
        lambda i: cli.invoke("CreateSession", session_spec_json(f"{prefix}-cli-{i}")),
        options.submits,
    )
    return evaluate, submit


def _creator(contract: Contract, prefix: str) -> Callable[[int], object]:
    return lambda i: contract.submit("CreateSession", session_spec_json(f"{prefix}-{i}"))


def _cpu_seconds(state: NetworkState) -> dict[str, float]:
    """CPU seconds used so far by this process (the client) and each Fabric process.

    The difference over the concurrent run says where a shortfall comes from: a client that
    spends little CPU per transaction is not what limits the rate.
    """
    processes = {"bench client": psutil.Process()}
    processes |= {name: psutil.Process(record.pid) for name, record in state.processes.items()}
    return {name: sum(process.cpu_times()[:2]) for name, process in processes.items()}


def _setting(state: NetworkState, options: LedgerBenchOptions) -> dict[str, object]:
    plan, org = state.plan, state.plan.orgs[0]
    endorsers = [o.msp_id for o in majority_with(plan, org)]
    return {
        "fabric": FABRIC_VERSION,
        "orgs": len(plan.orgs),
        "identity": f"{org.msp_id} admin",
        "peer": org.peer_address,
        "peer_cli_endorsers": endorsers,
        "network": str(options.network_dir) if options.network_dir else "started for this run",
        "cpus": os.cpu_count(),
        "load_average_1min_at_end": round(os.getloadavg()[0], 1),
        "write": "CreateSession (new session id per call)",
        "read": "GetSession",
    }
