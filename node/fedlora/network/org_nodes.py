"""The long-running processes of one org on its own host: orderer, peer, chaincode server.

Each is started by the org's own `fedlora network org ...` command, in whatever network
namespace that command runs in, and recorded by PID in the org folder's processes.json.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from fedlora.fileio import write_atomic
from fedlora.network.env import (
    NodeFiles,
    base_environment,
    chaincode_server_environment,
    orderer_node_environment,
    peer_client_environment,
    peer_node_environment,
)
from fedlora.network.install import FabricInstall
from fedlora.network.org import (
    CHAINCODE,
    ORDERER,
    ORDERER_ADMIN,
    ORDERER_OPS,
    PEER,
    PEER_CHAINCODE,
    PEER_OPS,
    OrgFolder,
    OrgSettings,
    is_loopback,
)
from fedlora.network.processes import require_chaincode_binary
from fedlora.network.state import ProcessRecord
from fedlora.network.supervisor import (
    ProcessSpec,
    is_running,
    start_process,
    stop_process,
    wait_healthy,
)

HEALTH_TIMEOUT_S = 30.0


def orderer_env(folder: OrgFolder, org: OrgSettings, install: FabricInstall) -> dict[str, str]:
    """The org's orderer, on the org's own address (the single-host orderer's environment)."""
    return orderer_node_environment(
        base_environment(install, folder.layout),
        org.orderer_msp_id,
        NodeFiles(folder.orderer_dir(org), folder.root / "data" / "orderer"),
        (org.ip, org.port(ORDERER)),
        org.address(ORDERER_ADMIN),
        org.address(ORDERER_OPS),
        over_links=not is_loopback(org),
    )


def peer_env(folder: OrgFolder, org: OrgSettings, install: FabricInstall) -> dict[str, str]:
    """The org's peer, reached through its anchor-peer entry (the single-host peer's
    environment)."""
    addresses = (org.address(PEER), org.address(PEER_CHAINCODE), org.address(PEER_OPS))
    return peer_node_environment(
        base_environment(install, folder.layout),
        org.msp_id,
        NodeFiles(folder.peer_dir(org), folder.root / "data" / "peer"),
        f"peer0.{org.domain}",
        addresses,
        over_links=not is_loopback(org),
    )


def admin_env(folder: OrgFolder, org: OrgSettings, install: FabricInstall) -> dict[str, str]:
    """A ``peer`` CLI call as the org's admin against the org's own peer."""
    base = base_environment(install, folder.layout)
    tls_ca = folder.peer_dir(org) / "tls" / "ca.crt"
    return peer_client_environment(
        base, org.msp_id, folder.admin_msp(org), org.address(PEER), tls_ca
    )


def orderer_spec(folder: OrgFolder, org: OrgSettings, install: FabricInstall) -> ProcessSpec:
    """The org's orderer, healthy when its operations endpoint says OK."""
    return ProcessSpec(
        name="orderer",
        command=[str(install.binary("orderer"))],
        env=orderer_env(folder, org, install),
        log=folder.layout.log_file("orderer"),
        ports=(org.port(ORDERER), org.port(ORDERER_ADMIN), org.port(ORDERER_OPS)),
        health_url=f"http://{org.address(ORDERER_OPS)}/healthz",
        cwd=folder.root,
        host=org.ip,
    )


def peer_spec(folder: OrgFolder, org: OrgSettings, install: FabricInstall) -> ProcessSpec:
    """The org's peer, healthy when its operations endpoint says OK."""
    return ProcessSpec(
        name="peer",
        command=[str(install.binary("peer")), "node", "start"],
        env=peer_env(folder, org, install),
        log=folder.layout.log_file("peer"),
        ports=(org.port(PEER), org.port(PEER_CHAINCODE), org.port(PEER_OPS)),
        health_url=f"http://{org.address(PEER_OPS)}/healthz",
        cwd=folder.root,
        host=org.ip,
    )


def chaincode_spec(
    folder: OrgFolder, org: OrgSettings, install: FabricInstall, package_id: str
) -> ProcessSpec:
    """The org's own chaincode server, dialled by the org's own peer only, over mutual TLS
    (the same server environment as a single-host network's)."""
    env = chaincode_server_environment(
        base_environment(install, folder.layout),
        org.address(CHAINCODE),
        package_id,
        folder.peer_dir(org) / "tls",
    )
    return ProcessSpec(
        name="chaincode",
        command=[str(require_chaincode_binary())],
        env=env,
        log=folder.layout.log_file("chaincode"),
        ports=(org.port(CHAINCODE),),
        cwd=folder.root,
        host=org.ip,
    )


def load_processes(folder: OrgFolder) -> dict[str, ProcessRecord]:
    """The org's recorded processes, by name."""
    if not folder.processes_file.is_file():
        return {}
    data = json.loads(folder.processes_file.read_text(encoding="utf-8"))
    return {name: ProcessRecord.from_dict(record) for name, record in data.items()}


def _save(path: Path, records: dict[str, ProcessRecord]) -> None:
    text = json.dumps({n: asdict(r) for n, r in records.items()}, indent=2, sort_keys=True)
    write_atomic(path, text + "\n")


def launch(folder: OrgFolder, spec: ProcessSpec) -> ProcessRecord:
    """Start ``spec`` (unless already running), record it, wait until it is healthy."""
    records = load_processes(folder)
    running = records.get(spec.name)
    if running is not None and is_running(running):
        return running
    record = start_process(spec)
    records[spec.name] = record
    _save(folder.processes_file, records)
    wait_healthy(record, HEALTH_TIMEOUT_S)
    return record


def stop_all(folder: OrgFolder) -> list[str]:
    """Stop every recorded process of the org, newest first; return their names."""
    records = load_processes(folder)
    stopped = []
    for name in sorted(records, key=lambda n: records[n].create_time, reverse=True):
        if is_running(records[name]):
            stop_process(records[name])
            stopped.append(name)
        del records[name]
        _save(folder.processes_file, records)
    return stopped
