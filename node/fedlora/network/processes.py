"""The network's long-running processes: orderer, and per org a peer and a chaincode server.

A peer or chaincode server whose org the plan puts in a network namespace of its own is started
there with
``ip netns exec``, which enters the namespace and then executes the peer: the recorded PID is
the peer's own, so stopping it by PID works as for any other process.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from fedlora.errors import FedloraError
from fedlora.network.env import (
    base_environment,
    chaincode_server_environment,
    orderer_environment,
    peer_environment,
)
from fedlora.network.install import FabricInstall
from fedlora.network.layout import NetworkLayout
from fedlora.network.state import NetworkState, save_state
from fedlora.network.supervisor import ProcessSpec, start_process, stop_process, wait_healthy
from fedlora.network.topology import NetworkPlan, OrgPlan
from fedlora.paths import source_checkout

ORDERER = "orderer"
HEALTH_TIMEOUT_S = 30.0


def chaincode_binary() -> Path:
    """The chaincode server program: ``$FEDLORA_CHAINCODE_BIN``, else the checkout's build.

    Raises
    ------
    FedloraError
        When fedlora runs from an installed wheel, which has no chaincode, and the variable is
        unset.
    """
    override = os.environ.get("FEDLORA_CHAINCODE_BIN")
    if override:
        return Path(override)
    checkout = source_checkout()
    if checkout is None:
        raise FedloraError(
            "this fedlora is installed from a package, which holds no chaincode server",
            "set FEDLORA_CHAINCODE_BIN to the fedlora-cc that scripts/build_chaincode.sh builds",
        )
    return checkout / "chaincode" / "bin" / "fedlora-cc"


def require_chaincode_binary() -> Path:
    """The chaincode server program, or an error saying how to build it."""
    binary = chaincode_binary()
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        raise FedloraError(
            f"chaincode server {binary} is missing",
            "build it with scripts/build_chaincode.sh (or set FEDLORA_CHAINCODE_BIN)",
        )
    return binary


def orderer_spec(plan: NetworkPlan, layout: NetworkLayout, install: FabricInstall) -> ProcessSpec:
    """The Raft orderer, healthy when its operations endpoint says OK."""
    orderer = plan.orderer
    return ProcessSpec(
        name=ORDERER,
        command=[str(install.binary("orderer"))],
        env=orderer_environment(plan, layout, install),
        log=layout.log_file(ORDERER),
        ports=(orderer.port, orderer.admin_port, orderer.operations_port),
        health_url=f"http://{orderer.operations_address}/healthz",
        cwd=layout.root,
        host=orderer.ip,
    )


def peer_spec(org: OrgPlan, layout: NetworkLayout, install: FabricInstall) -> ProcessSpec:
    """One org's peer, healthy when its operations endpoint says OK."""
    command = [str(install.binary("peer")), "node", "start"]
    return ProcessSpec(
        name=org.peer_name,
        command=in_namespace(org.netns, command),
        env=peer_environment(org, layout, install),
        log=layout.log_file(org.peer_name),
        ports=(org.peer_port, org.chaincode_listen_port, org.operations_port),
        health_url=f"http://{org.operations_address}/healthz",
        cwd=layout.root,
        host=org.ip,
    )


def in_namespace(netns: str | None, command: list[str]) -> list[str]:
    """``command`` run inside network namespace ``netns`` (as is when None); needs root."""
    return command if netns is None else ["ip", "netns", "exec", netns, *command]


def chaincode_spec(
    org: OrgPlan, layout: NetworkLayout, install: FabricInstall, package_id: str
) -> ProcessSpec:
    """The org's own chaincode server, beside its peer; healthy once its port accepts
    connections."""
    env = chaincode_server_environment(
        base_environment(install, layout),
        org.chaincode_server_address,
        package_id,
        layout.peer_dir(org) / "tls",
    )
    return ProcessSpec(
        name=org.chaincode_name,
        command=in_namespace(org.netns, [str(require_chaincode_binary())]),
        env=env,
        log=layout.log_file(org.chaincode_name),
        ports=(org.chaincode_server_port,),
        cwd=layout.root,
        host=org.ip,
    )


def process_names(plan: NetworkPlan) -> list[str]:
    """Every process of the network, in start order."""
    return [ORDERER, *(org.peer_name for org in plan.orgs), *(o.chaincode_name for o in plan.orgs)]


def spec_by_name(
    state: NetworkState, layout: NetworkLayout, install: FabricInstall, name: str
) -> ProcessSpec:
    """The spec of the network's process called ``name`` (``orderer``, ``peer0.org2``,
    ``chaincode.org1`` ...).

    Raises
    ------
    FedloraError
        When the network has no such process (or its chaincode was never deployed).
    """
    if name == ORDERER:
        return orderer_spec(state.plan, layout, install)
    for org in state.plan.orgs:
        if org.peer_name == name:
            return peer_spec(org, layout, install)
        if org.chaincode_name == name and org.name in state.package_ids:
            return chaincode_spec(org, layout, install, state.package_ids[org.name])
    known = ", ".join(process_names(state.plan))
    raise FedloraError(f"the network has no process {name!r}", f"use one of {known}")


def launch(state: NetworkState, spec: ProcessSpec, layout: NetworkLayout) -> None:
    """Start ``spec``, record it in the state file at once, then wait until it is healthy.

    Recording before waiting means a failure here still leaves the PID for `down` to stop.
    """
    record = start_process(spec)
    state.processes[spec.name] = record
    save_state(layout.state_file, state)
    wait_healthy(record, HEALTH_TIMEOUT_S)


def start_nodes(
    state: NetworkState,
    layout: NetworkLayout,
    install: FabricInstall,
    step: Callable[[str], None] = lambda _: None,
) -> None:
    """Start the orderer and every peer, each healthy before the next starts."""
    step("orderer")
    launch(state, orderer_spec(state.plan, layout, install), layout)
    for org in state.plan.orgs:
        step(org.peer_name)
        launch(state, peer_spec(org, layout, install), layout)


def stop_all(
    state: NetworkState,
    layout: NetworkLayout,
    step: Callable[[str], None] = lambda _: None,
) -> list[FedloraError]:
    """Stop every recorded process, newest first; return the problems met (ports still held).

    Each stopped process leaves the state file at once, so an interrupted stop can resume.
    """
    problems: list[FedloraError] = []
    # The state file stores processes by name, so start order is recovered from start times.
    newest_first = sorted(state.processes, key=lambda n: state.processes[n].create_time)[::-1]
    for name in newest_first:
        step(name)
        try:
            stop_process(state.processes[name])
        except FedloraError as error:
            problems.append(error)
        del state.processes[name]
        if layout.state_file.exists():
            save_state(layout.state_file, state)
    return problems
