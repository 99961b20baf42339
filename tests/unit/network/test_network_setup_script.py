"""scripts/setup_fabric.sh with stand-in binaries and a stand-in `go` (no network needed)."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from fedlora.network.install import locate_fabric, unavailable_reason

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "setup_fabric.sh"
PROGRAMS = ("orderer", "configtxgen", "cryptogen", "osnadmin", "configtxlator")


def _release(folder: Path, peer_version: str) -> Path:
    """A folder shaped like a Fabric release: bin/ with the five programs, config/."""
    bin_dir = folder / "bin"
    bin_dir.mkdir(parents=True)
    for name in PROGRAMS:
        (bin_dir / name).write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "peer").write_text(f'#!/bin/sh\necho "peer:"\necho " Version: {peer_version}"\n')
    for program in bin_dir.iterdir():
        program.chmod(0o755)
    (folder / "config").mkdir()
    (folder / "config" / "core.yaml").write_text("vm:\n    endpoint: x\n")
    (folder / "config" / "orderer.yaml").write_text("General:\n    BootstrapMethod: file\n")
    return bin_dir


def _run(cache: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("FABRIC_", "FEDLORA_"))}
    full.update({"FEDLORA_CACHE": str(cache), **env})
    return subprocess.run(
        ["bash", str(SCRIPT)], env=full, capture_output=True, text=True, timeout=60, check=False
    )


def _refusing_go(folder: Path) -> str:
    """A PATH whose `go` answers like a module proxy that refuses the version."""
    folder.mkdir()
    go = folder / "go"
    go.write_text(
        "#!/bin/sh\necho 'go: reading https://proxy/@v/x.info: 403 Forbidden' >&2\n"
        "echo '	server response: This module version is not available.' >&2\nexit 1\n"
    )
    go.chmod(0o755)
    return f"{folder}{os.pathsep}{os.environ['PATH']}"


def test_release_folder_is_copied_into_the_cache_and_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = _release(tmp_path / "release", "2.5.16")

    first = _run(tmp_path / "cache", FABRIC_BIN_DIR=str(bin_dir))
    second = _run(tmp_path / "cache")

    assert first.returncode == 0, first.stderr
    assert "peer version 2.5.16" in first.stdout
    assert second.returncode == 0 and "cached" in second.stdout
    monkeypatch.setenv("FEDLORA_CACHE", str(tmp_path / "cache"))
    install = locate_fabric()
    assert (install.config_dir / "core.yaml").read_text().startswith("vm:")


def test_a_release_of_another_version_is_refused(tmp_path: Path) -> None:
    bin_dir = _release(tmp_path / "release", "2.4.9")

    done = _run(tmp_path / "cache", FABRIC_BIN_DIR=str(bin_dir))

    assert done.returncode == 1
    assert "peer version '2.4.9', not 2.5.x" in done.stderr
    assert not (tmp_path / "cache" / "fabric-2.5.16" / "bin").exists()


def test_refused_module_is_one_line_a_marker_and_exit_0_only_when_optional(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _refusing_go(tmp_path / "tools")

    strict = _run(tmp_path / "cache", PATH=path)
    optional = _run(tmp_path / "cache", PATH=path, FEDLORA_FABRIC_OPTIONAL="1")

    assert strict.returncode == 1 and optional.returncode == 0
    lines = strict.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Fabric 2.5.16 binaries are unavailable: the Go module proxy")
    assert "FABRIC_BIN_DIR" in lines[0]
    monkeypatch.setenv("FEDLORA_CACHE", str(tmp_path / "cache"))
    reason = unavailable_reason()
    assert reason is not None and "403 Forbidden" in reason


def test_providing_binaries_later_replaces_the_unavailable_marker(tmp_path: Path) -> None:
    _run(tmp_path / "cache", PATH=_refusing_go(tmp_path / "tools"))
    bin_dir = _release(tmp_path / "release", "2.5.3")

    done = _run(tmp_path / "cache", FABRIC_BIN_DIR=str(bin_dir))

    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "cache" / "fabric-2.5.16" / "UNAVAILABLE").exists()


def _building_go(folder: Path, module_dir: Path) -> str:
    """A PATH whose `go` builds stand-in binaries and reports ``module_dir`` as the module."""
    (module_dir / "sampleconfig").mkdir(parents=True)
    (module_dir / "sampleconfig" / "core.yaml").write_text("vm:\n    endpoint: x\n")
    (module_dir / "sampleconfig" / "orderer.yaml").write_text("General:\n")
    folder.mkdir()
    go = folder / "go"
    go.write_text(
        f"""#!/bin/sh
echo "go $* GOFLAGS=$GOFLAGS" >> "{folder}/go.log"
case "$1" in
  list) echo "github.com/hyperledger/fabric $3" ;;
  install)
    for arg in "$@"; do
      case "$arg" in
        *@*) name="${{arg%@*}}"; name="${{name##*/}}"
             printf '#!/bin/sh\\necho " Version: 2.5.16"\\n' > "$GOBIN/$name"
             chmod +x "$GOBIN/$name" ;;
      esac
    done ;;
  mod) echo '{{"Path": "github.com/hyperledger/fabric", "Dir": "{module_dir}"}}' ;;
esac
"""
    )
    go.chmod(0o755)
    return f"{folder}{os.pathsep}{os.environ['PATH']}"


def test_go_module_build_pins_the_commit_and_takes_the_same_versions_sampleconfig(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _building_go(tmp_path / "tools", tmp_path / "module")

    done = _run(tmp_path / "cache", PATH=path)

    assert done.returncode == 0, done.stderr
    log = (tmp_path / "tools" / "go.log").read_text()
    install = next(line for line in log.splitlines() if line.startswith("go install"))
    pseudo = "v1.4.0-rc1.0.20260617221605-f871cf92a026"
    assert f"github.com/hyperledger/fabric/cmd/peer@{pseudo}" in install
    assert "-trimpath" in install and "metadata.Version=2.5.16" in install
    assert "GOFLAGS=-mod=mod" in install
    monkeypatch.setenv("FEDLORA_CACHE", str(tmp_path / "cache"))
    assert (locate_fabric().config_dir / "orderer.yaml").read_text() == "General:\n"


def _source_tarball(folder: Path) -> Path:
    """A tarball shaped like Fabric's source with vendor/, and its SHA256SUMS beside it."""
    tree = folder / "tree" / "fabric-2.5.16"
    for sub in ("cmd/peer", "vendor", "sampleconfig"):
        (tree / sub).mkdir(parents=True)
    (tree / "vendor" / "modules.txt").write_text("# vendored\n")
    (tree / "sampleconfig" / "core.yaml").write_text("vm:\n    endpoint: x\n")
    (tree / "sampleconfig" / "orderer.yaml").write_text("General: {}\n")
    tarball = folder / "fabric-2.5.16-src.tar.xz"
    subprocess.run(["tar", "cJf", str(tarball), "-C", str(tree.parent), tree.name], check=True)
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
    (folder / "SHA256SUMS").write_text(f"{digest}  {tarball.name}\n")
    return tarball


def _vendor_building_go(folder: Path) -> str:
    """A PATH whose `go build -o DIR/ ./cmd/X...` writes stand-in binaries, logging its env."""
    folder.mkdir()
    go = folder / "go"
    go.write_text(
        f"""#!/bin/sh
echo "go $* GOFLAGS=$GOFLAGS GOPROXY=$GOPROXY GOTOOLCHAIN=$GOTOOLCHAIN" >> "{folder}/go.log"
out=""; prev=""
for arg in "$@"; do
  [ "$prev" = "-o" ] && out="$arg"
  case "$arg" in
    ./cmd/*) name="${{arg##*/}}"
             printf '#!/bin/sh\\necho " Version: 2.5.16"\\n' > "$out/$name"
             chmod +x "$out/$name" ;;
  esac
  prev="$arg"
done
"""
    )
    go.chmod(0o755)
    return f"{folder}{os.pathsep}{os.environ['PATH']}"


def test_source_tarball_is_checked_then_built_offline_from_its_vendor_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tarball = _source_tarball(tmp_path / "shared")
    path = _vendor_building_go(tmp_path / "tools")

    done = _run(tmp_path / "cache", PATH=path, FABRIC_SRC=str(tarball))

    assert done.returncode == 0, done.stderr
    assert "checksum of fabric-2.5.16-src.tar.xz verified" in done.stdout
    build = (tmp_path / "tools" / "go.log").read_text()
    assert "GOFLAGS=-mod=vendor GOPROXY=off GOTOOLCHAIN=local" in build
    assert "./cmd/peer" in build and "./cmd/configtxlator" in build
    monkeypatch.setenv("FEDLORA_CACHE", str(tmp_path / "cache"))
    install = locate_fabric()
    assert (install.config_dir / "orderer.yaml").read_text() == "General: {}\n"
    assert not list((tmp_path / "cache").glob(".fabric-*"))  # no staging folder left behind


def test_a_tarball_that_fails_its_checksum_is_never_built(tmp_path: Path) -> None:
    tarball = _source_tarball(tmp_path / "shared")
    (tmp_path / "shared" / "SHA256SUMS").write_text(f"{'0' * 64}  {tarball.name}\n")
    path = _vendor_building_go(tmp_path / "tools")

    done = _run(tmp_path / "cache", PATH=path, FABRIC_SRC=str(tarball), FEDLORA_FABRIC_OPTIONAL="1")
    required = _run(
        tmp_path / "cache",
        PATH=path,
        FABRIC_SRC=str(tarball),
        FEDLORA_FABRIC_OPTIONAL="1",
        FEDLORA_REQUIRE_LIVE="1",
    )

    assert done.returncode == 0 and required.returncode == 1  # CI never runs without Fabric
    assert f"expected {'0' * 64}" in done.stderr
    assert not (tmp_path / "tools" / "go.log").exists()
    assert not (tmp_path / "cache" / "fabric-2.5.16" / ".complete").exists()
