"""The CCaaS package (deterministic bytes) and fedlora's ccaas external builder programs."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from fedlora.network.package import org_package, package_id
from fedlora.network.topology import NetworkDefaults, NetworkPlan, plan_network, templates_root

BUILDER_BIN = templates_root() / "builders" / "ccaas" / "bin"


def _plan(base: int = 27050) -> NetworkPlan:
    return plan_network(3, base, "fedlora", NetworkDefaults())


def build_ccaas_package(plan: NetworkPlan, org: int = 0) -> bytes:
    """Org ``org``'s package, with the same stand-in TLS files every time."""
    return org_package(plan, plan.orgs[org], TLS)


# A peer's tls/ folder with stand-in PEM texts (the package only copies them).
TLS = Path(__file__).parent / "samples" / "peer-tls"


def _members(data: bytes) -> dict[str, tuple[tarfile.TarInfo, bytes]]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        return {
            info.name: (info, archive.extractfile(info).read())  # type: ignore[union-attr]
            for info in archive.getmembers()
        }


def test_package_bytes_are_identical_on_every_build() -> None:
    first = build_ccaas_package(_plan())
    second = build_ccaas_package(_plan())

    assert first == second
    assert package_id(_plan(), first) == package_id(_plan(), second)


def test_package_changes_when_the_chaincode_address_changes() -> None:
    assert build_ccaas_package(_plan(27050)) != build_ccaas_package(_plan(28050))
    assert build_ccaas_package(_plan(), 0) != build_ccaas_package(_plan(), 1)


def test_package_has_no_timestamps_or_owners() -> None:
    package = build_ccaas_package(_plan())

    assert package[4:8] == b"\0\0\0\0"  # gzip header MTIME
    outer = _members(package)
    inner = _members(outer["code.tar.gz"][1])
    for info, _ in [*outer.values(), *inner.values()]:
        assert (info.mtime, info.uid, info.gid, info.uname, info.gname) == (0, 0, 0, "", "")


def test_package_declares_ccaas_and_points_a_peer_at_its_orgs_server_with_mutual_tls() -> None:
    plan = _plan()
    outer = _members(build_ccaas_package(plan))

    assert sorted(outer) == ["code.tar.gz", "metadata.json"]
    metadata = json.loads(outer["metadata.json"][1])
    assert metadata == {"type": "ccaas", "label": "fedlora_1.0"}
    inner = _members(outer["code.tar.gz"][1])
    connection = json.loads(inner["connection.json"][1])
    assert connection["address"] == f"127.0.0.1:{plan.orgs[0].peer_port + 3}"
    assert connection["tls_required"] is True and connection["client_auth_required"] is True
    assert connection["client_key"] == (TLS / "server.key").read_text()
    assert connection["root_cert"] == (TLS / "ca.crt").read_text()


def test_package_id_is_the_label_and_the_sha256_of_the_bytes() -> None:
    package = build_ccaas_package(_plan())

    expected = "fedlora_1.0:" + hashlib.sha256(package).hexdigest()
    assert package_id(_plan(), package) == expected


def _unpack_like_the_peer(package: bytes, root: Path) -> tuple[Path, Path]:
    """The peer extracts metadata.json into a metadata folder and code.tar.gz into a source one."""
    outer = _members(package)
    metadata_dir, source_dir = root / "metadata", root / "source"
    metadata_dir.mkdir()
    source_dir.mkdir()
    (metadata_dir / "metadata.json").write_bytes(outer["metadata.json"][1])
    with tarfile.open(fileobj=io.BytesIO(outer["code.tar.gz"][1]), mode="r:gz") as code:
        code.extractall(source_dir, filter="data")
    return metadata_dir, source_dir


def _run(program: str, *args: Path) -> subprocess.CompletedProcess[str]:
    command = [str(BUILDER_BIN / program), *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def test_builder_detects_release_and_serves_the_package_connection(tmp_path: Path) -> None:
    package = build_ccaas_package(_plan())
    metadata_dir, source_dir = _unpack_like_the_peer(package, tmp_path)
    build_dir, release_dir = tmp_path / "build", tmp_path / "release"
    build_dir.mkdir()
    release_dir.mkdir()

    assert _run("detect", source_dir, metadata_dir).returncode == 0
    assert _run("build", source_dir, metadata_dir, build_dir).returncode == 0
    assert _run("release", build_dir, release_dir).returncode == 0

    served = json.loads((release_dir / "chaincode/server/connection.json").read_text())
    assert served["address"] == _plan().orgs[0].chaincode_server_address


@pytest.mark.parametrize("kind", ["golang", "external", ""])
def test_builder_declines_packages_of_other_types(tmp_path: Path, kind: str) -> None:
    (tmp_path / "metadata.json").write_text(json.dumps({"type": kind, "label": "x_1"}))

    assert _run("detect", tmp_path, tmp_path).returncode != 0


def test_builder_detect_ignores_letter_case(tmp_path: Path) -> None:
    (tmp_path / "metadata.json").write_text('{ "label": "x_1", "type" : "CCaaS" }')

    assert _run("detect", tmp_path, tmp_path).returncode == 0


def test_builder_build_fails_without_connection_json(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()

    result = _run("build", tmp_path, tmp_path, tmp_path / "out")

    assert result.returncode != 0
    assert "connection.json" in result.stderr
