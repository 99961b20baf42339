"""`fedlora bench network`'s memory reading counts only the network's own live processes."""

from __future__ import annotations

import os

import psutil

from fedlora.network.bench import idle_memory
from fedlora.network.state import NetworkState, ProcessRecord
from fedlora.network.topology import plan_network


def record(name: str, pid: int, create_time: float) -> ProcessRecord:
    return ProcessRecord(name, pid, create_time, (), "log", None)


def test_idle_memory_reads_live_processes_and_skips_gone_or_reused_pids() -> None:
    me = psutil.Process(os.getpid())
    state = NetworkState(plan_network(3, 27050, "fedlora"))
    state.processes = {
        "orderer": record("orderer", me.pid, me.create_time()),
        "peer0.org1": record("peer0.org1", me.pid, me.create_time() - 3600),  # PID reused
        "chaincode": record("chaincode", 2**22 + 7, 0.0),  # no such process
    }
    sizes = idle_memory(state)
    assert list(sizes) == ["orderer"]
    assert sizes["orderer"] > 1  # MiB: a Python process is larger than that
