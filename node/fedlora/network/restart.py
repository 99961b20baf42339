"""Stop and start one process of a running network, leaving the others alone.

A restarted orderer or peer comes back from the same spec `up` started it with: same binary,
environment, ports and data folder, so it reopens its ledger (and the orderer its Raft WAL)
rather than joining anew. Used to inject faults in the reliability tests, and by an operator
who must bounce one process without taking the network down.
"""

from __future__ import annotations

import time
from pathlib import Path

from fedlora.errors import FedloraError
from fedlora.network.install import FabricInstall, locate_fabric
from fedlora.network.layout import NetworkLayout
from fedlora.network.processes import launch, spec_by_name
from fedlora.network.state import NetworkState, ProcessRecord, load_state
from fedlora.network.supervisor import is_running, kill_process, stop_process
from fedlora.network.topology import port_is_free


def stop_one(directory: Path, name: str, kill: bool = False) -> ProcessRecord:
    """Stop the network's process ``name``: SIGTERM with a grace period, or SIGKILL with ``kill``.

    Its record stays in the state file, so `status` shows it stopped and `down` still frees its
    ports. Returns the record of the process that was stopped.

    Raises
    ------
    FedloraError
        No network in ``directory``, no such process, it is not running, or a port stays held.
    """
    layout, state = _load(directory)
    record = state.processes.get(name)
    if record is None or not is_running(record):
        raise FedloraError(
            f"{name} of the network in {layout.root} is not running",
            "see `fedlora network status`",
        )
    if kill:
        kill_process(record)
    else:
        stop_process(record)
    return record


def start_one(directory: Path, name: str, install: FabricInstall | None = None) -> ProcessRecord:
    """Start the network's stopped process ``name`` again and wait until it is healthy.

    Raises
    ------
    FedloraError
        No network in ``directory``, no such process, it is still running, a port of it is held
        by something else, or it does not become healthy.
    """
    layout, state = _load(directory)
    record = state.processes.get(name)
    if record is not None and is_running(record):
        raise FedloraError(f"{name} is already running (PID {record.pid})", "stop it first")
    spec = spec_by_name(state, layout, install or locate_fabric(), name)
    held = [port for port in spec.ports if not port_is_free(port, spec.host)]
    if held:
        raise FedloraError(
            f"port {held[0]} of {name} is in use",
            f"find the holder with `ss -ltnp 'sport = :{held[0]}'` and stop it",
        )
    launch(state, spec, layout)
    return state.processes[name]


def restart_one(
    directory: Path,
    name: str,
    kill: bool = False,
    outage_s: float = 0.0,
    install: FabricInstall | None = None,
) -> ProcessRecord:
    """Stop ``name`` (see :func:`stop_one`), leave it down ``outage_s`` seconds, start it again.

    Returns the record of the new process, once it is healthy.
    """
    stop_one(directory, name, kill=kill)
    time.sleep(outage_s)
    return start_one(directory, name, install)


def _load(directory: Path) -> tuple[NetworkLayout, NetworkState]:
    layout = NetworkLayout(directory.resolve())
    state = load_state(layout.state_file)
    if state is None:
        raise FedloraError(f"no network in {layout.root}", "pass the folder `up` used with --dir")
    return layout, state
