"""`fedlora bench network`: how long a network takes to come up, and what it costs at rest.

Three numbers on one fresh folder: `up` of a new 3-org network to its first committed
transaction (crypto material, channel, chaincode deployment included), `up` again on the same
ledgers after `down` (a restart), and the resident memory of every process of the network
(orderer, peers, chaincode server) after it has sat idle for a while.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from fedlora.network.lifecycle import down, up
from fedlora.network.state import NetworkState
from fedlora.network.supervisor import is_running
from fedlora.network.topology import find_free_base_port


@dataclass(frozen=True)
class NetworkBench:
    """Seconds to the first committed transaction, and idle memory in MiB per process."""

    orgs: int
    fresh_up_s: float
    restart_up_s: float
    idle_rss_mib: dict[str, float]

    @property
    def total_idle_rss_mib(self) -> float:
        """Sum over the network's processes."""
        return sum(self.idle_rss_mib.values())


def bench_network(folder: Path, orgs: int = 3, idle_s: float = 10.0) -> NetworkBench:
    """Bring a network up fresh, restart it on its ledgers, measure it idle; purge it at the end."""
    base_port = find_free_base_port()
    try:
        started = time.monotonic()
        up(folder, orgs=orgs, base_port=base_port)
        fresh_s = time.monotonic() - started
        down(folder)
        started = time.monotonic()
        restarted = up(folder)
        restart_s = time.monotonic() - started
        time.sleep(idle_s)
        rss = idle_memory(restarted.state)
    finally:
        down(folder, purge=True)
    return NetworkBench(orgs, fresh_s, restart_s, rss)


def idle_memory(state: NetworkState) -> dict[str, float]:
    """Resident set size of each recorded process of the network still running, in MiB."""
    sizes = {}
    for name, record in sorted(state.processes.items()):
        if not is_running(record):  # gone, or its PID reused by a process that is not ours
            continue
        try:
            sizes[name] = psutil.Process(record.pid).memory_info().rss / 2**20
        except psutil.NoSuchProcess:
            continue
    return sizes
