"""`fedlora session ...`: create, join, start and follow a federated fine-tuning session."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from fedlora.cli.common import NodeConfigOption, console, print_json, user_errors
from fedlora.config import load_node_config
from fedlora.errors import FedloraError
from fedlora.ledger import Deadlines, LoraSpec, Privacy, Rule, SessionSpec

app = typer.Typer(help="Create, join, start and follow sessions.", no_args_is_help=True)

SessionOption = Annotated[str, typer.Option("--id", help="Session id.")]
AdminOption = Annotated[
    Path | None,
    typer.Option(help="MSP folder of the org admin who signs (create and start need one)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
_DP = "Privacy budget (all four DP options, or none: no DP): "


@app.command("create")
def create(
    session_id: SessionOption,
    config: NodeConfigOption,
    admin_msp: AdminOption = None,
    rounds: Annotated[int, typer.Option(min=1)] = 3,
    quorum: Annotated[int, typer.Option(min=1, help="Accepting endorsements per round.")] = 2,
    rule: Annotated[str, typer.Option(help="Aggregation rule: fedlora, fedavg, ...")] = "fedlora",
    dataset: Annotated[str, typer.Option(help="Dataset tag, e.g. icd10:dirichlet:0.1:3:0.")] = (
        "icd10:dirichlet:0.1:3:0"
    ),
    model: Annotated[str, typer.Option(help="Base model every node uses.")] = "smollm2",
    rank: Annotated[int, typer.Option(min=1)] = 8,
    alpha: Annotated[float, typer.Option(min=0.0)] = 16.0,
    top_layers: Annotated[int, typer.Option(min=0, help="Adapt the top N layers; 0: all.")] = 0,
    deadline: Annotated[int, typer.Option(min=1, help="Seconds allowed per phase.")] = 600,
    participants: Annotated[str, typer.Option(help="Comma-separated node ids; empty: join.")] = "",
    allowed_orgs: Annotated[
        str, typer.Option(help="Join mode: comma-separated MSP ids whose nodes may join.")
    ] = "",
    max_nodes_per_org: Annotated[
        int, typer.Option(min=0, help="Join mode: nodes one org may enrol; 0: no cap.")
    ] = 0,
    max_examples: Annotated[
        int, typer.Option(min=0, help="Cap on an update's declared examples; 0: the default.")
    ] = 0,
    dp_epsilon: Annotated[
        float | None, typer.Option(help=_DP + "most epsilon one node may spend.")
    ] = None,
    dp_delta: Annotated[float | None, typer.Option(help=_DP + "delta, in (0, 1).")] = None,
    dp_noise_multiplier: Annotated[
        float | None, typer.Option(help=_DP + "DP-SGD noise multiplier.")
    ] = None,
    dp_clip_norm: Annotated[
        float | None, typer.Option(help=_DP + "per-example clipping norm.")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Create a session (as an org admin); participants join it, then the creator starts it.

    With the four --dp-* options the session has a differential-privacy budget, fixed on chain:
    every update records its node's spent epsilon and the chain refuses one above the budget.
    """
    with user_errors():
        privacy = privacy_budget(dp_epsilon, dp_delta, dp_noise_multiplier, dp_clip_norm)
        spec = build_spec(
            session_id,
            model=model,
            rounds=rounds,
            quorum=quorum,
            rule=rule,
            dataset=dataset,
            lora=(rank, alpha, top_layers),
            deadline=deadline,
            participants=_csv(participants),
            limits=SessionLimits(_csv(allowed_orgs), max_examples, max_nodes_per_org, privacy),
        )
        open_contract = _open_contract()
        gateway, contract, _ = open_contract(load_node_config(config), admin_msp)
        with gateway:
            session = contract.create_session(spec)
        _show_session(session, json_output)


@dataclass(frozen=True)
class SessionLimits:
    """The optional limits of a session (see `session create --help`)."""

    allowed_orgs: tuple[str, ...] = ()
    max_examples: int = 0
    max_nodes_per_org: int = 0
    privacy: Privacy | None = None


def privacy_budget(
    epsilon: float | None,
    delta: float | None,
    noise_multiplier: float | None,
    clip_norm: float | None,
) -> Privacy | None:
    """The budget the four --dp-* options give: all four, or none (no DP).

    The values are checked as the contract checks them, so a typo fails before the chain.
    """
    values = {
        "--dp-epsilon": epsilon,
        "--dp-delta": delta,
        "--dp-noise-multiplier": noise_multiplier,
        "--dp-clip-norm": clip_norm,
    }
    given = {name: value for name, value in values.items() if value is not None}
    if not given:
        return None
    if len(given) < len(values):
        missing = ", ".join(name for name in values if name not in given)
        raise FedloraError(
            f"a privacy budget needs all four --dp-* options; missing {missing}",
            "give all four, or none for a session without differential privacy",
        )
    for name, value in given.items():
        if not (math.isfinite(value) and value > 0):
            raise FedloraError(f"{name} {value} is invalid", "pass a finite number above 0")
    if not given["--dp-delta"] < 1:
        raise FedloraError(f"--dp-delta {delta} is invalid", "pass a number in (0, 1), e.g. 1e-5")
    return Privacy(
        epsilon=given["--dp-epsilon"],
        delta=given["--dp-delta"],
        noise_multiplier=given["--dp-noise-multiplier"],
        clip_norm=given["--dp-clip-norm"],
    )


def build_spec(
    session_id: str,
    *,
    model: str,
    rounds: int,
    quorum: int,
    rule: str,
    dataset: str,
    lora: tuple[int, float, int],
    deadline: int,
    participants: tuple[str, ...],
    limits: SessionLimits | None = None,
) -> SessionSpec:
    """The spec of a session as `session create` (and the demo) record it.

    ``lora`` is (rank, alpha, top layers; 0: all). The base model's hash is computed here, so
    every participant can check it trains from the same weights.
    """
    limits = limits or SessionLimits()
    from fedlora.aggregation import strategy_from_name
    from fedlora.daemon.local_training import base_model_sha256

    strategy = strategy_from_name(rule)  # an unknown rule fails here, before the chain
    rank, alpha, top_layers = lora
    return SessionSpec(
        session_id=session_id,
        base_model=model,
        base_model_sha256=base_model_sha256(model),
        lora=LoraSpec(rank, alpha, 0.0, ("k_proj", "o_proj", "q_proj", "v_proj"), top_layers),
        dataset_tag=dataset,
        rounds=rounds,
        quorum=quorum,
        deadlines=Deadlines(deadline, deadline, deadline),
        rule=Rule(strategy.name, {}),
        participants=participants,
        allowed_orgs=limits.allowed_orgs,
        max_examples=limits.max_examples,
        max_nodes_per_org=limits.max_nodes_per_org,
        privacy=limits.privacy,
    )


@app.command("join")
def join(
    session_id: SessionOption, config: NodeConfigOption, json_output: JsonOption = False
) -> None:
    """Join an open session as this node."""
    with user_errors():
        open_contract = _open_contract()
        gateway, contract, _ = open_contract(load_node_config(config))
        with gateway:
            _show_session(contract.join_session(session_id), json_output)


@app.command("start")
def start(
    session_id: SessionOption,
    config: NodeConfigOption,
    admin_msp: AdminOption = None,
    json_output: JsonOption = False,
) -> None:
    """Start a session (its creator): participants are fixed and round 1 opens."""
    with user_errors():
        open_contract = _open_contract()
        gateway, contract, _ = open_contract(load_node_config(config), admin_msp)
        with gateway:
            _show_session(contract.start_session(session_id), json_output)


@app.command("status")
def status(
    session_id: SessionOption, config: NodeConfigOption, json_output: JsonOption = False
) -> None:
    """Show a session and each of its rounds as the chain records them."""
    with user_errors():
        open_contract = _open_contract()
        gateway, contract, _ = open_contract(load_node_config(config))
        with gateway:
            trail = contract.export_trail(session_id)
        if json_output:
            print_json(
                {"session": trail.session.to_json(), "rounds": [r.to_json() for r in trail.rounds]}
            )
            return
        _show_session(trail.session, False)
        console.print(rounds_table(trail.rounds))
        if trail.session.privacy is not None:
            console.print(privacy_table(trail.session.participants, trail.rounds))


def rounds_table(rounds: Any) -> Table:
    """One row per round: phase, aggregator, updates, endorsements, final hash."""
    table = Table(title="rounds")
    for column in ("round", "phase", "attempt", "aggregator", "updates", "endorsed", "final"):
        table.add_column(column)
    for round_ in rounds:
        accepted = sum(1 for e in round_.endorsements.values() if e.accept)
        cells = (
            str(round_.round),
            round_.phase,
            str(round_.attempt),
            round_.aggregator,
            str(len(round_.updates)),
            f"{accepted}/{len(round_.endorsements)}",
            round_.final_sha256[:16],
        )
        table.add_row(*(escape(cell) for cell in cells))  # chain values are never markup
    return table


def privacy_table(participants: Any, rounds: Any) -> Table:
    """The privacy ledger: the epsilon each node had spent with its update of each round."""
    table = Table(title="epsilon spent, per node and round")
    table.add_column("node")
    for round_ in rounds:
        table.add_column(str(round_.round), justify="right")
    for node_id in participants:
        cells = [
            f"{round_.updates[node_id].epsilon_spent:g}" if node_id in round_.updates else "-"
            for round_ in rounds
        ]
        table.add_row(escape(node_id), *cells)  # chain values are never markup
    return table


def _show_session(session: Any, json_output: bool) -> None:
    if json_output:
        print_json(session.to_json())
        return
    participants = ", ".join(session.participants) or "(none yet)"
    console.print(
        f"session [bold]{escape(session.session_id)}[/]: {escape(session.status)}, round "
        f"{session.current_round}/{session.rounds}, rule {escape(session.rule_name)}, quorum "
        f"{session.quorum}, participants {escape(participants)}"
    )
    budget = session.privacy
    if budget is not None:
        console.print(
            f"privacy budget: epsilon {budget.epsilon:g} per node at delta {budget.delta:g}, "
            f"noise multiplier {budget.noise_multiplier:g}, clip norm {budget.clip_norm:g}"
        )


def _csv(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())


def _open_contract() -> Any:
    """The Gateway connector, imported on use (the daemon package loads torch)."""
    from fedlora.daemon.wiring import open_contract

    return open_contract
