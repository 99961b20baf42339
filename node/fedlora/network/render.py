"""Write a network's configuration: cryptogen and configtxgen input, patched node configs."""

from __future__ import annotations

from collections.abc import Mapping
from importlib.resources.abc import Traversable
from pathlib import Path
from string import Template

from fedlora.errors import FedloraError
from fedlora.fileio import write_atomic
from fedlora.network.install import FabricInstall
from fedlora.network.layout import NetworkLayout
from fedlora.network.topology import LOOPBACK, NetworkPlan, templates_root
from fedlora.network.yamlpatch import replace_block, set_scalar

PROFILE = "FedloraChannel"
BUILDER_PROGRAMS = ("detect", "build", "release")


def _template(name: str, templates: Path | None) -> Template:
    folder: Path | Traversable = templates or templates_root() / "templates"
    path = folder / name
    if not path.is_file():
        raise FedloraError(
            f"network template {path} is missing", "reinstall fedlora, or restore the checkout"
        )
    return Template(path.read_text(encoding="utf-8"))


def _fill(template: Template, name: str, values: Mapping[str, object]) -> str:
    try:
        return template.substitute({key: str(value) for key, value in values.items()})
    except (KeyError, ValueError) as error:
        raise FedloraError(
            f"network template {name} uses an unknown placeholder ({error})",
            "restore it from the checkout",
        ) from None


def san_lines(ip: str, indent: int) -> str:
    """The YAML list of a node's TLS SANs: localhost, the loopback address and the node's own
    address, so every address it is dialled at verifies without a host name resolving."""
    names = dict.fromkeys(["localhost", LOOPBACK, ip])
    return "\n".join(f"{' ' * indent}- {name}" for name in names)


def render_crypto_config(plan: NetworkPlan, templates: Path | None = None) -> str:
    """cryptogen's crypto-config.yaml: the orderer org plus one org per member, NodeOUs on."""
    org_template = _template("crypto-config-org.yaml.tmpl", templates)
    orgs = "".join(
        _fill(org_template, "crypto-config-org.yaml.tmpl", values)
        for values in (
            {"org_name": o.name, "org_domain": o.domain, "sans": san_lines(o.ip, 8)}
            for o in plan.orgs
        )
    )
    values = {
        "orderer_domain": plan.orderer.domain,
        "orderer_sans": san_lines(plan.orderer.ip, 10),
        "peer_orgs": orgs.rstrip("\n"),
    }
    main = _template("crypto-config.yaml.tmpl", templates)
    return _fill(main, "crypto-config.yaml.tmpl", values)


def render_configtx(plan: NetworkPlan, layout: NetworkLayout, templates: Path | None = None) -> str:
    """configtxgen's configtx.yaml for the channel's genesis block (profile FedloraChannel)."""
    org_template = _template("configtx-org.yaml.tmpl", templates)
    member_orgs = "".join(
        _fill(
            org_template,
            "configtx-org.yaml.tmpl",
            {
                "org_name": org.name,
                "msp_id": org.msp_id,
                "msp_dir": layout.org_dir(org) / "msp",
                "peer_ip": org.ip,
                "peer_port": org.peer_port,
            },
        )
        for org in plan.orgs
    )
    member_refs = "\n".join(f"        - *{org.name}" for org in plan.orgs)
    values = {
        "orderer_msp_id": plan.orderer.msp_id,
        "orderer_msp_dir": layout.orderer_org_dir(plan) / "msp",
        "orderer_ip": plan.orderer.ip,
        "orderer_port": plan.orderer.port,
        "orderer_tls_cert": layout.orderer_node_dir(plan) / "tls" / "server.crt",
        "member_orgs": member_orgs.rstrip("\n"),
        "member_refs": member_refs,
    }
    return _fill(_template("configtx.yaml.tmpl", templates), "configtx.yaml.tmpl", values)


def patch_core_yaml(text: str, builder_dir: Path) -> str:
    """Make the sample core.yaml run chaincode without Docker.

    ``vm.endpoint`` must be blank in the file itself: an empty ``CORE_VM_ENDPOINT`` is read as
    unset, and the peer would then fail its Docker health check. The ccaas builder path must
    be absolute because the peer resolves it from its own working directory.
    """
    if not builder_dir.is_absolute():
        raise FedloraError(
            f"external builder path {builder_dir} is relative", "pass an absolute path"
        )
    patched = set_scalar(text, ["vm", "endpoint"], "", "core.yaml")
    builders = [
        "- name: ccaas_builder",
        f"  path: {builder_dir}",
        "  propagateEnvironment:",
        "    - CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG",
    ]
    return replace_block(patched, ["chaincode", "externalBuilders"], builders, "core.yaml")


def patch_orderer_yaml(text: str) -> str:
    """Make the sample orderer.yaml start without a system channel, joined by osnadmin."""
    patched = set_scalar(text, ["General", "BootstrapMethod"], "none", "orderer.yaml")
    return set_scalar(patched, ["ChannelParticipation", "Enabled"], "true", "orderer.yaml")


def write_builder(destination: Path) -> None:
    """Copy fedlora's ccaas external builder (``bin/`` detect, build, release) from the package.

    The peer runs these programs by absolute path, so each network keeps its own copy: it
    stays valid whichever environment fedlora runs from, and `down --purge` removes it.
    """
    source = templates_root() / "builders" / "ccaas" / "bin"
    for name in BUILDER_PROGRAMS:
        program = source / name
        if not program.is_file():
            raise FedloraError(
                f"the ccaas builder program {program} is missing", "reinstall fedlora"
            )
        target = destination / "bin" / name
        write_atomic(target, program.read_bytes())
        target.chmod(0o755)


def write_configs(plan: NetworkPlan, layout: NetworkLayout, install: FabricInstall) -> None:
    """Write every configuration file of the network into ``layout.config_dir``."""
    config = layout.config_dir
    core = (install.config_dir / "core.yaml").read_text(encoding="utf-8")
    orderer = (install.config_dir / "orderer.yaml").read_text(encoding="utf-8")
    write_builder(layout.builder_dir)
    write_atomic(config / "core.yaml", patch_core_yaml(core, layout.builder_dir.resolve()))
    write_atomic(config / "orderer.yaml", patch_orderer_yaml(orderer))
    write_atomic(config / "crypto-config.yaml", render_crypto_config(plan))
    write_atomic(config / "configtx.yaml", render_configtx(plan, layout))
