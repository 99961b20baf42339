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
    GOSSIP_RECONNECT_INTERVAL,
    base_environment,
    chaincode_server_environment,
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
    """The org's orderer: TLS on its own address, no system channel, joined by osnadmin."""
    node, data = folder.orderer_dir(org), folder.root / "data" / "orderer"
    tls = node / "tls"
    env = base_environment(install, folder.layout)
    env.update(
        {
            "ORDERER_GENERAL_LISTENADDRESS": org.ip,
            "ORDERER_GENERAL_LISTENPORT": str(org.port(ORDERER)),
            "ORDERER_GENERAL_LOCALMSPID": org.orderer_msp_id,
            "ORDERER_GENERAL_LOCALMSPDIR": str(node / "msp"),
            "ORDERER_GENERAL_TLS_ENABLED": "true",
            "ORDERER_GENERAL_TLS_PRIVATEKEY": str(tls / "server.key"),
            "ORDERER_GENERAL_TLS_CERTIFICATE": str(tls / "server.crt"),
            "ORDERER_GENERAL_TLS_ROOTCAS": f"[{tls / 'ca.crt'}]",
            "ORDERER_GENERAL_CLUSTER_CLIENTCERTIFICATE": str(tls / "server.crt"),
            "ORDERER_GENERAL_CLUSTER_CLIENTPRIVATEKEY": str(tls / "server.key"),
            # The other consenters' TLS roots come from the channel configuration.
            "ORDERER_GENERAL_CLUSTER_ROOTCAS": f"[{tls / 'ca.crt'}]",
            "ORDERER_GENERAL_BOOTSTRAPMETHOD": "none",
            "ORDERER_CHANNELPARTICIPATION_ENABLED": "true",
            "ORDERER_FILELEDGER_LOCATION": str(data / "ledger"),
            "ORDERER_CONSENSUS_WALDIR": str(data / "etcdraft" / "wal"),
            "ORDERER_CONSENSUS_SNAPDIR": str(data / "etcdraft" / "snapshot"),
            "ORDERER_OPERATIONS_LISTENADDRESS": org.address(ORDERER_OPS),
            # The admin endpoint is for this host's admin only: keep it off the firewall.
            "ORDERER_ADMIN_LISTENADDRESS": org.address(ORDERER_ADMIN),
            "ORDERER_ADMIN_TLS_ENABLED": "false",
            "ORDERER_METRICS_PROVIDER": "disabled",
            "ORDERER_GENERAL_KEEPALIVE_SERVERMININTERVAL": "2s",
        }
    )
    return env


def peer_env(folder: OrgFolder, org: OrgSettings, install: FabricInstall) -> dict[str, str]:
    """The org's peer: TLS, gossip reached through its anchor-peer entry."""
    node, data = folder.peer_dir(org), folder.root / "data" / "peer"
    tls = node / "tls"
    env = base_environment(install, folder.layout)
    env.update(
        {
            "CORE_PEER_ID": f"peer0.{org.domain}",
            "CORE_PEER_ADDRESS": org.address(PEER),
            "CORE_PEER_LISTENADDRESS": org.address(PEER),
            "CORE_PEER_CHAINCODEADDRESS": org.address(PEER_CHAINCODE),
            "CORE_PEER_CHAINCODELISTENADDRESS": org.address(PEER_CHAINCODE),
            "CORE_PEER_GOSSIP_BOOTSTRAP": org.address(PEER),
            "CORE_PEER_GOSSIP_EXTERNALENDPOINT": org.address(PEER),
            "CORE_PEER_GOSSIP_RECONNECTINTERVAL": GOSSIP_RECONNECT_INTERVAL,
            "CORE_PEER_LOCALMSPID": org.msp_id,
            "CORE_PEER_MSPCONFIGPATH": str(node / "msp"),
            "CORE_PEER_TLS_ENABLED": "true",
            "CORE_PEER_TLS_CERT_FILE": str(tls / "server.crt"),
            "CORE_PEER_TLS_KEY_FILE": str(tls / "server.key"),
            "CORE_PEER_TLS_ROOTCERT_FILE": str(tls / "ca.crt"),
            "CORE_PEER_FILESYSTEMPATH": str(data),
            "CORE_LEDGER_SNAPSHOTS_ROOTDIR": str(data / "snapshots"),
            "CORE_OPERATIONS_LISTENADDRESS": org.address(PEER_OPS),
            "CORE_METRICS_PROVIDER": "disabled",
            "CORE_PEER_PROFILE_ENABLED": "false",
            "CORE_PEER_KEEPALIVE_DELIVERYCLIENT_INTERVAL": "5s",
            "CORE_PEER_KEEPALIVE_DELIVERYCLIENT_TIMEOUT": "5s",
            "CORE_PEER_DELIVERYCLIENT_RECONNECTBACKOFFTHRESHOLD": "5s",
        }
    )
    return env


def admin_env(folder: OrgFolder, org: OrgSettings, install: FabricInstall) -> dict[str, str]:
    """A ``peer`` CLI call as the org's admin against the org's own peer."""
    env = base_environment(install, folder.layout)
    env.update(
        {
            "CORE_PEER_LOCALMSPID": org.msp_id,
            "CORE_PEER_MSPCONFIGPATH": str(folder.admin_msp(org)),
            "CORE_PEER_ADDRESS": org.address(PEER),
            "CORE_PEER_TLS_ENABLED": "true",
            "CORE_PEER_TLS_ROOTCERT_FILE": str(folder.peer_dir(org) / "tls" / "ca.crt"),
        }
    )
    return env


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
