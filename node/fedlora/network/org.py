"""One hospital's own part of a consortium: its keys, its orderer, its peer, its chaincode server.

Everything here runs on the org's own host and reads or writes only the org's folder:

<dir>/org.json          name, MSP ids, address, ports (written by `init`)
<dir>/config/           core.yaml, orderer.yaml, crypto-config.yaml, builders/ccaas/
<dir>/crypto/           cryptogen output for this org only: peerOrganizations/<domain>/ (CA,
                        TLS CA, admin, user, peer) and ordererOrganizations/orderer.<domain>/
<dir>/members/          the public definitions of the member orgs (see members.py)
<dir>/channel/          the channel's genesis block this org joined with
<dir>/chaincode/        this org's CCaaS package (its own chaincode server's address)
<dir>/data/, logs/      ledgers and logs
<dir>/processes.json    PIDs of the org's running processes

Private keys are made by cryptogen inside crypto/ and are never read by anything that writes
outside this folder; :func:`export_definition` copies certificates only.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from fedlora.errors import FedloraError
from fedlora.fileio import write_atomic
from fedlora.network.env import base_environment
from fedlora.network.install import FabricInstall
from fedlora.network.layout import NetworkLayout
from fedlora.network.render import (
    crypto_config,
    orderer_org_crypto,
    patch_core_yaml,
    patch_orderer_yaml,
    peer_org_crypto,
    write_builder,
)
from fedlora.network.tools import run_tool
from fedlora.network.topology import LOOPBACK, validate_counts

DEFINITION_FORMAT = "fedlora-org/1"
_PRIVATE_MARK = "PRIVATE KEY"


@dataclass(frozen=True)
class OrgSettings:
    """Who the org is and where its processes listen (all on the org's own address).

    Ports, from ``base_port``: orderer +0, orderer admin +1, orderer operations +2, chaincode
    server +3, peer +10, peer chaincode listener +11, peer operations +12.
    """

    name: str
    ip: str
    base_port: int
    domain_suffix: str = "fedlora.local"

    @property
    def msp_id(self) -> str:
        """The member MSP (peer, admin, users)."""
        return f"{self.name}MSP"

    @property
    def orderer_msp_id(self) -> str:
        """The MSP of the org's orderer node (an orderer organisation of its own)."""
        return f"{self.name}OrdererMSP"

    @property
    def domain(self) -> str:
        """The member org's domain, e.g. ``org1.fedlora.local``."""
        return f"{self.name.lower()}.{self.domain_suffix}"

    @property
    def orderer_domain(self) -> str:
        """The orderer org's domain."""
        return f"orderer.{self.domain}"

    def port(self, offset: int) -> int:
        """``base_port + offset``."""
        return self.base_port + offset

    def address(self, offset: int) -> str:
        """``ip:port`` of the listener at ``offset``."""
        return f"{self.ip}:{self.port(offset)}"


ORDERER, ORDERER_ADMIN, ORDERER_OPS, CHAINCODE = 0, 1, 2, 3
PEER, PEER_CHAINCODE, PEER_OPS = 10, 11, 12


@dataclass(frozen=True)
class OrgFolder:
    """Paths inside one org's folder."""

    root: Path

    @property
    def settings_file(self) -> Path:
        """org.json."""
        return self.root / "org.json"

    @property
    def layout(self) -> NetworkLayout:
        """The same config/, data/ and logs/ names as a single-host network's folder."""
        return NetworkLayout(self.root)

    @property
    def processes_file(self) -> Path:
        """PIDs of the org's running processes."""
        return self.root / "processes.json"

    def org_dir(self, org: OrgSettings) -> Path:
        """cryptogen's folder of the member org."""
        return self.root / "crypto" / "peerOrganizations" / org.domain

    def orderer_org_dir(self, org: OrgSettings) -> Path:
        """cryptogen's folder of the orderer org."""
        return self.root / "crypto" / "ordererOrganizations" / org.orderer_domain

    def peer_dir(self, org: OrgSettings) -> Path:
        """The peer's msp/ and tls/."""
        return self.org_dir(org) / "peers" / f"peer0.{org.domain}"

    def orderer_dir(self, org: OrgSettings) -> Path:
        """The orderer node's msp/ and tls/."""
        return self.orderer_org_dir(org) / "orderers" / f"orderer0.{org.orderer_domain}"

    def admin_msp(self, org: OrgSettings) -> Path:
        """The member org's admin (joins the peer, installs, approves)."""
        return self.org_dir(org) / "users" / f"Admin@{org.domain}" / "msp"

    def orderer_admin_msp(self, org: OrgSettings) -> Path:
        """The orderer org's admin (signs changes to the orderer group)."""
        return self.orderer_org_dir(org) / "users" / f"Admin@{org.orderer_domain}" / "msp"

    def members_dir(self) -> Path:
        """Unpacked public definitions of the member orgs, one folder per MSP id."""
        return self.root / "members"

    def channel_block(self, channel: str) -> Path:
        """The genesis block this org joined with."""
        return self.root / "channel" / f"{channel}.block"

    def package_file(self) -> Path:
        """This org's chaincode package."""
        return self.root / "chaincode" / "fedlora.tgz"


def load_settings(folder: OrgFolder) -> OrgSettings:
    """The org's settings, as `init` wrote them."""
    if not folder.settings_file.is_file():
        raise FedloraError(
            f"{folder.root} holds no organisation", "create one with `fedlora network org init`"
        )
    return OrgSettings(**json.loads(folder.settings_file.read_text(encoding="utf-8")))


def render_org_crypto_config(org: OrgSettings) -> str:
    """cryptogen input for this org alone: its orderer org and its member org, NodeOUs on (the
    member org's entry as `network up` writes it for each of its orgs)."""
    orderer = orderer_org_crypto(f"{org.name}Orderer", org.orderer_domain, "orderer0", org.ip)
    member = peer_org_crypto(org.name, org.domain, org.ip)
    return crypto_config("`fedlora network org init`: this organisation only", [orderer], [member])


def init_org(folder: OrgFolder, org: OrgSettings, install: FabricInstall) -> None:
    """Create the org's folder: settings, node configs and its own crypto material (cryptogen).

    Raises
    ------
    FedloraError
        When the folder already holds an organisation or the name or port is unusable.
    """
    if folder.settings_file.exists():
        raise FedloraError(f"{folder.root} already holds an organisation", "pick another --dir")
    if not org.name.isalnum() or not org.name[0].isalpha():
        raise FedloraError(f"invalid org name {org.name!r}", "use letters and digits, e.g. Org4")
    validate_counts(1, org.base_port)
    layout = folder.layout
    core = (install.config_dir / "core.yaml").read_text(encoding="utf-8")
    orderer = (install.config_dir / "orderer.yaml").read_text(encoding="utf-8")
    write_builder(layout.builder_dir)
    write_atomic(
        layout.config_dir / "core.yaml", patch_core_yaml(core, layout.builder_dir.resolve())
    )
    write_atomic(layout.config_dir / "orderer.yaml", patch_orderer_yaml(orderer))
    crypto_config = layout.config_dir / "crypto-config.yaml"
    write_atomic(crypto_config, render_org_crypto_config(org))
    args = ["generate", f"--config={crypto_config}", f"--output={folder.root / 'crypto'}"]
    env = base_environment(install, layout)
    run_tool([str(install.binary("cryptogen")), *args], env, f"generate {org.name}'s crypto")
    write_atomic(folder.settings_file, json.dumps(asdict(org), indent=2) + "\n")


def _public_files(msp_dir: Path) -> dict[str, str]:
    """The channel MSP's certificates and NodeOU config, keyed by path relative to ``msp_dir``."""
    files: dict[str, str] = {}
    for path in sorted(msp_dir.rglob("*")):
        if not path.is_file() or "keystore" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        if _PRIVATE_MARK in text:
            raise FedloraError(f"{path} holds a private key", "it must not leave this host")
        files[str(path.relative_to(msp_dir))] = text
    return files


def export_definition(folder: OrgFolder) -> dict[str, Any]:
    """The org's public definition: MSPs (certificates only), TLS roots, endpoints."""
    org = load_settings(folder)
    consenter = folder.orderer_dir(org) / "tls" / "server.crt"
    return {
        "format": DEFINITION_FORMAT,
        "name": org.name,
        "msp_id": org.msp_id,
        "orderer_msp_id": org.orderer_msp_id,
        "peer": org.address(PEER),
        "orderer": org.address(ORDERER),
        "msp": _public_files(folder.org_dir(org) / "msp"),
        "orderer_msp": _public_files(folder.orderer_org_dir(org) / "msp"),
        "orderer_tls_cert": consenter.read_text(encoding="utf-8"),
    }


def write_definition(folder: OrgFolder, out: Path) -> Path:
    """Write :func:`export_definition` as one JSON file; nothing in it is secret."""
    text = json.dumps(export_definition(folder), indent=2, sort_keys=True) + "\n"
    if _PRIVATE_MARK in text:
        raise FedloraError("the definition would hold a private key", "report this as a bug")
    write_atomic(out, text)
    return out


def is_loopback(org: OrgSettings) -> bool:
    """True when every process of the org listens on 127.0.0.1 (a one-machine trial)."""
    return org.ip == LOOPBACK
