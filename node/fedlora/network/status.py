"""`status`: health of every process, channel height per peer, the committed chaincode version."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fedlora.errors import FedloraError
from fedlora.network.deploy import Deployer
from fedlora.network.install import FabricInstall, locate_fabric
from fedlora.network.layout import NetworkLayout
from fedlora.network.processes import process_names
from fedlora.network.state import NetworkState, load_state
from fedlora.network.supervisor import is_running, probe_health
from fedlora.network.tools import ToolError


def process_report(state: NetworkState, layout: NetworkLayout) -> list[dict[str, Any]]:
    """One entry per expected process: state (running/healthy/stopped/unhealthy), PID, log."""
    entries = []
    for name in process_names(state.plan):
        record = state.processes.get(name)
        alive = record is not None and is_running(record)
        healthy = alive and record is not None and probe_health(record)
        entries.append(
            {
                "name": name,
                "state": "healthy" if healthy else ("unhealthy" if alive else "stopped"),
                "pid": record.pid if alive and record else None,
                "ports": list(record.ports) if record else [],
                "log": str(layout.log_file(name)),
            }
        )
    return entries


def endpoints(state: NetworkState, layout: NetworkLayout) -> list[dict[str, Any]]:
    """Per organisation: MSP id, endpoint, TLS CA, where its admin and user MSPs live."""
    plan = state.plan
    rows: list[dict[str, Any]] = [
        {
            "org": "OrdererOrg",
            "msp_id": plan.orderer.msp_id,
            "endpoint": plan.orderer.address,
            "admin_endpoint": plan.orderer.admin_address,
            "tls_ca": str(layout.orderer_tls_ca(plan)),
        }
    ]
    for org in plan.orgs:
        rows.append(
            {
                "org": org.name,
                "msp_id": org.msp_id,
                "endpoint": org.peer_address,
                "tls_ca": str(layout.peer_tls_ca(org)),
                "admin_msp": str(layout.admin_msp(org)),
                "user_msp": str(layout.user_msp(org)),
            }
        )
    return rows


def _ledger_report(
    state: NetworkState, layout: NetworkLayout, install: FabricInstall, healthy: set[str]
) -> dict[str, Any]:
    """Channel heights of the healthy peers and the committed chaincode version."""
    deployer = Deployer(state.plan, layout, install)
    heights: dict[str, int | None] = {}
    version: str | None = None
    for org in state.plan.orgs:
        heights[org.peer_name] = None
        if org.peer_name not in healthy:
            continue
        try:
            heights[org.peer_name] = deployer.channel_height(org)
            if version is None:
                version = deployer.committed_version(org)
        except (ToolError, ValueError):
            continue
    return {"channel_heights": heights, "chaincode_version": version}


def network_status(directory: Path, install: FabricInstall | None = None) -> dict[str, Any]:
    """Everything `fedlora network status` shows, as a JSON-ready dict.

    Raises
    ------
    FedloraError
        When the folder holds no network.
    """
    layout = NetworkLayout(directory.resolve())
    state = load_state(layout.state_file)
    if state is None:
        raise FedloraError(f"no network in {layout.root}", "create one with `fedlora network up`")
    processes = process_report(state, layout)
    healthy = {entry["name"] for entry in processes if entry["state"] == "healthy"}
    report: dict[str, Any] = {
        "directory": str(layout.root),
        "channel": state.plan.channel,
        "running": bool(healthy),
        "processes": processes,
        "organizations": endpoints(state, layout),
        "chaincode": {"name": state.plan.chaincode.name, "package_ids": state.package_ids},
        "channel_heights": {org.peer_name: None for org in state.plan.orgs},
        "chaincode_version": None,
    }
    if healthy & {org.peer_name for org in state.plan.orgs}:
        report.update(_ledger_report(state, layout, install or locate_fabric(), healthy))
    return report
