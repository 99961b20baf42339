"""Find the Fabric 2.5.16 toolchain that scripts/setup_fabric.sh caches outside the checkout."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fedlora.errors import FedloraError
from fedlora.paths import cache_dir

FABRIC_VERSION = "2.5.16"
BINARIES = ("peer", "orderer", "configtxgen", "cryptogen", "osnadmin", "configtxlator")
STAMP_NAME = ".complete"
UNAVAILABLE_NAME = "UNAVAILABLE"
SETUP_HINT = (
    "run scripts/setup_fabric.sh (set FABRIC_SRC to Fabric 2.5.16's source tarball with "
    "vendor/, or FABRIC_BIN_DIR to a Fabric 2.5 release's bin/; README: Fabric binaries)"
)


@dataclass(frozen=True)
class FabricInstall:
    """A complete toolchain: binaries and sample configuration (the ccaas builder ships with
    fedlora itself, see render.write_builder)."""

    root: Path

    @property
    def bin_dir(self) -> Path:
        """peer, orderer, configtxgen, cryptogen, osnadmin, configtxlator."""
        return self.root / "bin"

    @property
    def config_dir(self) -> Path:
        """core.yaml and orderer.yaml from the same Fabric version's sampleconfig."""
        return self.root / "config"

    def binary(self, name: str) -> Path:
        """Absolute path of one Fabric binary."""
        return self.bin_dir / name

    def missing_files(self) -> list[Path]:
        """Files a working toolchain needs that are not there."""
        wanted = [self.binary(name) for name in BINARIES]
        wanted += [self.config_dir / "core.yaml", self.config_dir / "orderer.yaml"]
        return [path for path in wanted if not path.is_file()]


def fabric_root() -> Path:
    """Where setup_fabric.sh puts (or would put) the toolchain."""
    return cache_dir() / f"fabric-{FABRIC_VERSION}"


def unavailable_reason(root: Path | None = None) -> str | None:
    """The reason setup_fabric.sh recorded for not providing binaries, if it recorded one."""
    marker = (root or fabric_root()) / UNAVAILABLE_NAME
    if not marker.is_file():
        return None
    return " ".join(marker.read_text(encoding="utf-8").split()) or "no reason recorded"


def locate_fabric(root: Path | None = None) -> FabricInstall:
    """Return the cached toolchain, or raise an error saying how to get one.

    Parameters
    ----------
    root
        Toolchain folder; ``$FEDLORA_CACHE/fabric-2.5.16`` when omitted.

    Raises
    ------
    FedloraError
        When setup_fabric.sh has not completed there (with its recorded reason, if any).
    """
    install = FabricInstall(root or fabric_root())
    if (install.root / STAMP_NAME).is_file() and not install.missing_files():
        return install
    reason = unavailable_reason(install.root)
    detail = f": {reason}" if reason else f" in {install.root}"
    raise FedloraError(f"Fabric {FABRIC_VERSION} binaries missing{detail}", SETUP_HINT)
