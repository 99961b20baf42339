"""`up`, `down` and `status` of a consortium network, composed from the steps in this package."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from fedlora.errors import FedloraError
from fedlora.network.deploy import Deployer
from fedlora.network.install import FabricInstall, locate_fabric
from fedlora.network.layout import NetworkLayout
from fedlora.network.processes import (
    chaincode_spec,
    launch,
    require_chaincode_binary,
    start_nodes,
    stop_all,
)
from fedlora.network.render import write_configs
from fedlora.network.state import NetworkState, load_state, save_state
from fedlora.network.supervisor import crashed_error, is_running
from fedlora.network.topology import (
    NetworkPlan,
    OrgPlan,
    Placement,
    check_ports_free,
    load_defaults,
    plan_network,
)

# Called with the title of each step as it begins, so a front end can show progress.
StepReporter = Callable[[str], None]
READY_DEADLINE_S = 90.0
# What `up` creates; `down --purge` removes exactly these (logs are kept after a failed `up`).
_GENERATED = ("state.json", "config", "crypto", "channel", "chaincode", "data")


@dataclass(frozen=True)
class UpResult:
    """A running network and whether it was restarted on existing ledgers."""

    state: NetworkState
    layout: NetworkLayout
    restarted: bool
    ready_answer: str


def _quiet(_: str) -> None:
    return None


def running_processes(state: NetworkState) -> list[str]:
    """Names of the recorded processes that are still alive."""
    return [name for name, record in state.processes.items() if is_running(record)]


def up(
    directory: Path,
    orgs: int | None = None,
    channel: str | None = None,
    base_port: int | None = None,
    report: StepReporter = _quiet,
    install: FabricInstall | None = None,
    placement: Placement | None = None,
) -> UpResult:
    """Create and start a network in ``directory``, or restart the stopped one there.

    Returns only once a transaction through the peers has committed. On failure everything
    this call started is stopped; a new network's files are removed (its logs stay), so the
    next `up` starts clean. ``placement`` (each peer's address and network namespace, the
    orderer's address) applies to a new network; a restart keeps the one in its state file,
    so the namespaces it names must exist again.

    Raises
    ------
    FedloraError
        Bad arguments, binaries missing, network already running, port in use, a step failing.
    """
    layout = NetworkLayout(directory.resolve())
    existing = load_state(layout.state_file)
    # Arguments and ports are checked before the toolchain, so a typo is reported as such.
    if existing is None:
        state = NetworkState(_fresh_plan(orgs, channel, base_port, placement))
        _check_folder_is_free(layout)
    else:
        _check_stopped(existing, layout)
        _check_same_shape(existing, layout, orgs, channel, base_port)
        existing.processes.clear()
        state = existing
    check_ports_free(state.plan)
    toolchain = install or locate_fabric()
    require_chaincode_binary()
    return _guarded(state, layout, toolchain, report, fresh=existing is None)


def _fresh_plan(
    orgs: int | None, channel: str | None, base_port: int | None, placement: Placement | None
) -> NetworkPlan:
    defaults = load_defaults()
    return plan_network(
        orgs if orgs is not None else defaults.orgs,
        base_port if base_port is not None else defaults.base_port,
        channel if channel is not None else defaults.channel,
        defaults,
        placement,
    )


def _check_folder_is_free(layout: NetworkLayout) -> None:
    """A new network needs a folder of its own: `down --purge` deletes what it creates there."""
    if not layout.root.exists():
        return
    if not layout.root.is_dir():
        raise FedloraError(f"{layout.root} is not a folder", "pass a folder with --dir")
    # logs/ may remain from an earlier `up` that failed; anything else belongs to someone else.
    foreign = sorted(entry.name for entry in layout.root.iterdir() if entry.name != "logs")
    if foreign:
        raise FedloraError(
            f"{layout.root} is not empty ({', '.join(foreign[:3])}) and holds no fedlora network",
            "pass an empty or new folder with --dir",
        )


def _check_stopped(state: NetworkState, layout: NetworkLayout) -> None:
    if running := running_processes(state):
        raise FedloraError(
            f"the network in {layout.root} is already running ({', '.join(running)})",
            "see `fedlora network status`, or stop it with `fedlora network down`",
        )


def _check_same_shape(
    state: NetworkState,
    layout: NetworkLayout,
    orgs: int | None,
    channel: str | None,
    base_port: int | None,
) -> None:
    plan = state.plan
    asked = {"--orgs": orgs, "--channel": channel, "--base-port": base_port}
    actual = {"--orgs": len(plan.orgs), "--channel": plan.channel, "--base-port": plan.base_port}
    for flag, value in asked.items():
        if value is not None and value != actual[flag]:
            raise FedloraError(
                f"the network in {layout.root} was created with {flag} {actual[flag]}",
                f"drop {flag} to restart it, or remove it with `fedlora network down --purge`",
            )


def _guarded(
    state: NetworkState,
    layout: NetworkLayout,
    install: FabricInstall,
    report: StepReporter,
    fresh: bool,
) -> UpResult:
    """Run a fresh start or a restart; on any failure undo what it did, then re-raise."""
    try:
        if fresh:
            answer = _create(state, layout, install, report)
        else:
            answer = _restart(state, layout, install, report)
    except BaseException as error:
        # A tool failing because a node died is reported as that node's crash, with its log.
        crashed = [r for r in state.processes.values() if not is_running(r)]
        stop_all(state, layout)
        if fresh:
            remove_generated(layout)
        if crashed and isinstance(error, FedloraError):
            raise crashed_error(crashed[0]) from error
        raise
    return UpResult(state, layout, restarted=not fresh, ready_answer=answer)


def _create(
    state: NetworkState, layout: NetworkLayout, install: FabricInstall, report: StepReporter
) -> str:
    """Every step from an empty folder to a committed chaincode that answers."""
    plan = state.plan
    deployer = Deployer(plan, layout, install)
    report("write configuration")
    layout.root.mkdir(parents=True, exist_ok=True)
    save_state(layout.state_file, state)
    write_configs(plan, layout, install)
    report("generate crypto material (cryptogen)")
    deployer.generate_crypto()
    report("create the channel's genesis block (configtxgen)")
    deployer.generate_channel_block()
    start_nodes(state, layout, install, lambda name: report(f"start {name}"))
    report("join the orderer to the channel (osnadmin)")
    deployer.join_orderer()
    report(f"join every peer to {plan.channel}")
    for_each_org(plan, deployer.join_peer)
    _deploy_chaincode(state, layout, install, deployer, report)
    return _prove_ready(deployer, report)


def _deploy_chaincode(
    state: NetworkState,
    layout: NetworkLayout,
    install: FabricInstall,
    deployer: Deployer,
    report: StepReporter,
) -> None:
    """Per org: package, install, start its own chaincode server, approve; then commit, check."""
    plan = state.plan
    report("package the chaincode for each org and install it on the org's peer")
    for org in plan.orgs:
        state.package_ids[org.name] = deployer.write_package(org)
    for_each_org(plan, deployer.install_chaincode)
    save_state(layout.state_file, state)
    _start_chaincode_servers(state, layout, install, report)
    report("approve the chaincode for every org")
    for_each_org(plan, lambda org: deployer.approve(org, state.package_ids[org.name]))
    report("commit the chaincode definition")
    deployer.commit()
    version = deployer.committed_version()
    if version != plan.chaincode.version:
        raise FedloraError(
            f"chaincode committed as version {version}, expected {plan.chaincode.version}",
            "check the peer logs",
        )
    state.chaincode_committed = True
    save_state(layout.state_file, state)


def for_each_org(plan: NetworkPlan, step: Callable[[OrgPlan], None]) -> None:
    """Run ``step`` for every org at once and re-raise the first failure.

    Each step is one peer CLI call as that org's admin against that org's peer (join, install,
    approve), independent of the others'; run one after another they wait on each other's
    process start and, for approvals, on one block each.
    """
    with ThreadPoolExecutor(max_workers=len(plan.orgs)) as pool:
        for done in [pool.submit(step, org) for org in plan.orgs]:
            done.result()


def _start_chaincode_servers(
    state: NetworkState, layout: NetworkLayout, install: FabricInstall, report: StepReporter
) -> None:
    for org in state.plan.orgs:
        report(f"start {org.chaincode_name}")
        spec = chaincode_spec(org, layout, install, state.package_ids[org.name])
        launch(state, spec, layout)


def _restart(
    state: NetworkState, layout: NetworkLayout, install: FabricInstall, report: StepReporter
) -> str:
    """Start the processes of a stopped network on its existing ledgers."""
    if not state.chaincode_committed or len(state.package_ids) != len(state.plan.orgs):
        raise FedloraError(
            f"the network in {layout.root} never finished deploying",
            "remove it with `fedlora network down --purge` and run `up` again",
        )
    save_state(layout.state_file, state)
    start_nodes(state, layout, install, lambda name: report(f"start {name}"))
    _start_chaincode_servers(state, layout, install, report)
    return _prove_ready(Deployer(state.plan, layout, install), report)


def _prove_ready(deployer: Deployer, report: StepReporter) -> str:
    report("wait for a transaction to commit")
    settings = deployer.plan.chaincode
    return deployer.invoke(settings.ready_function, [], READY_DEADLINE_S)


def remove_generated(layout: NetworkLayout) -> None:
    """Delete what `up` generated in the folder, keeping logs/ for the post-mortem."""
    for name in _GENERATED:
        target = layout.root / name
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)


@dataclass(frozen=True)
class DownResult:
    """What `down` stopped and removed."""

    stopped: list[str]
    purged: bool


def down(directory: Path, purge: bool = False, report: StepReporter = _quiet) -> DownResult:
    """Stop the network's processes (by recorded PID); with ``purge`` also delete its files.

    Raises
    ------
    FedloraError
        When the folder holds no network, or a port stays held after its process stopped.
    """
    layout = NetworkLayout(directory.resolve())
    try:
        state = load_state(layout.state_file)
    except FedloraError:
        if not purge:
            raise
        # Its PIDs are unknown, so nothing can be stopped; the files can still go.
        _purge(layout, report)
        return DownResult(stopped=[], purged=True)
    if state is None:
        raise FedloraError(f"no network in {layout.root}", "pass the folder `up` used with --dir")
    stopped = running_processes(state)
    problems = stop_all(state, layout, lambda name: report(f"stop {name}"))
    if problems:
        raise problems[0]
    if purge:
        _purge(layout, report)
    return DownResult(stopped=stopped, purged=purge)


def _purge(layout: NetworkLayout, report: StepReporter) -> None:
    report("remove ledgers, crypto material, configuration and logs")
    remove_generated(layout)
    shutil.rmtree(layout.logs_dir, ignore_errors=True)
    _remove_if_empty(layout.root)


def _remove_if_empty(folder: Path) -> None:
    # When something else lives there too, the folder is not ours to delete.
    with contextlib.suppress(OSError):
        folder.rmdir()


__all__ = ["DownResult", "UpResult", "down", "running_processes", "up"]
