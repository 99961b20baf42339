"""The network's state file: what was planned, what runs under which PID, what was deployed."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fedlora.errors import FedloraError
from fedlora.fileio import write_atomic
from fedlora.network.topology import LOOPBACK, NetworkPlan, plan_from_dict

# 2: one chaincode package (and server) per org, package_ids by org name.
STATE_VERSION = 2


@dataclass(frozen=True)
class ProcessRecord:
    """One started process, identified by PID and start time (so a reused PID is not ours)."""

    name: str
    pid: int
    create_time: float
    ports: tuple[int, ...]
    log: str
    health_url: str | None
    # The address its ports are on; absent from state files written before peers could have
    # hosts of their own.
    host: str = LOOPBACK

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProcessRecord:
        """Inverse of ``dataclasses.asdict``."""
        return cls(**{**data, "ports": tuple(data["ports"])})


@dataclass
class NetworkState:
    """Everything `status` and `down` need, and what a restarting `up` reuses."""

    plan: NetworkPlan
    # Org name -> the id its peer gave the org's own package (each names its own server).
    package_ids: dict[str, str] = field(default_factory=dict)
    chaincode_committed: bool = False
    processes: dict[str, ProcessRecord] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "version": STATE_VERSION,
            "plan": self.plan.to_dict(),
            "package_ids": self.package_ids,
            "chaincode_committed": self.chaincode_committed,
            "processes": {name: asdict(record) for name, record in self.processes.items()},
        }


def save_state(path: Path, state: NetworkState) -> None:
    """Write the state file atomically."""
    write_atomic(path, json.dumps(state.to_dict(), indent=2, sort_keys=True) + "\n")


def load_state(path: Path) -> NetworkState | None:
    """Read the state file; None when the folder holds no network.

    Raises
    ------
    FedloraError
        When the file exists but cannot be understood.
    """
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"state version {data.get('version')!r}")
        processes = {
            name: ProcessRecord.from_dict(record) for name, record in data["processes"].items()
        }
        return NetworkState(
            plan=plan_from_dict(data["plan"]),
            package_ids=dict(data["package_ids"]),
            chaincode_committed=bool(data["chaincode_committed"]),
            processes=processes,
        )
    except (ValueError, KeyError, TypeError) as error:
        raise FedloraError(
            f"network state file {path} is unreadable ({error})",
            "stop any Fabric processes it started, then run `fedlora network down --purge`",
        ) from None
