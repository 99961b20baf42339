"""The chaincode-as-a-service package, built byte-for-byte the same every time.

The peer names an installed chaincode ``<label>:<sha256 of the package bytes>``, and the
chaincode server must announce exactly that id. Fixing every timestamp, owner and mode in the
archive keeps the id stable across rebuilds, so a restarted network finds its chaincode again.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Mapping
from pathlib import Path

from fedlora.network.topology import NetworkPlan, OrgPlan

_FIXED_MTIME = 0
_FILE_MODE = 0o644


def _tar_gz(files: dict[str, bytes]) -> bytes:
    """A gzip-compressed tar of ``files`` (sorted by name) with no varying metadata."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size = len(files[name])
            info.mtime = _FIXED_MTIME
            info.mode = _FILE_MODE
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            archive.addfile(info, io.BytesIO(files[name]))
    compressed = io.BytesIO()
    with gzip.GzipFile(fileobj=compressed, mode="wb", mtime=_FIXED_MTIME, filename="") as stream:
        stream.write(raw.getvalue())
    return compressed.getvalue()


def _json(document: Mapping[str, object]) -> bytes:
    return json.dumps(document, indent=2, sort_keys=True).encode("utf-8") + b"\n"


def package_label(plan: NetworkPlan) -> str:
    """Label part of the package id, e.g. ``fedlora_1.0``."""
    return f"{plan.chaincode.name}_{plan.chaincode.version}"


def org_package(plan: NetworkPlan, org: OrgPlan, peer_tls: Path) -> bytes:
    """Org ``org``'s package: its peer dials the org's own chaincode server over mutual TLS,
    with the peer's TLS key pair from ``peer_tls`` (so the package stays on the org's host)."""
    return ccaas_package(package_label(plan), org.chaincode_server_address, peer_tls_pems(peer_tls))


def peer_tls_pems(peer_tls: Path) -> dict[str, str]:
    """The PEM texts a package's connection.json needs, from a peer's tls/ folder."""
    names = {"root_cert": "ca.crt", "client_cert": "server.crt", "client_key": "server.key"}
    return {field: (peer_tls / name).read_text(encoding="utf-8") for field, name in names.items()}


def ccaas_package(label: str, address: str, tls: Mapping[str, str] | None = None) -> bytes:
    """A CCaaS package labelled ``label`` whose peers dial the chaincode server at ``address``.

    ``tls`` (PEM texts ``root_cert``, ``client_cert``, ``client_key``) makes the peer dial with
    mutual TLS; the package then holds the peer's client key, so it must stay on its host.
    """
    connection: dict[str, object] = {"address": address, "dial_timeout": "10s"}
    connection["tls_required"] = tls is not None
    if tls is not None:
        connection.update({"client_auth_required": True, **tls})
    code = _tar_gz({"connection.json": _json(connection)})
    metadata = {"type": "ccaas", "label": label}
    return _tar_gz({"metadata.json": _json(metadata), "code.tar.gz": code})


def package_id(plan: NetworkPlan, package: bytes) -> str:
    """The id the peer gives ``package`` (what ``peer lifecycle chaincode calculatepackageid``
    prints)."""
    return f"{package_label(plan)}:{hashlib.sha256(package).hexdigest()}"
