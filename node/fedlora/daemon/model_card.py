"""The final adapter's model card (its README.md), written from the chain's own records.

PEFT's ``save_pretrained`` leaves a template full of "[More Information Needed]"; a compliance
officer holding the folder needs where the adapter came from and how to check it instead: the
base model and its weights hash, the session, the rounds and who took part, the aggregation
rule, the final hash with the commands that verify it, and the accuracy this node measured.
"""

from __future__ import annotations

from fedlora.ledger import Round, Trail

WEIGHTS_FILE = "adapter_model.safetensors"


def render_model_card(
    trail: Trail, node_id: str, accuracy: float | None, base_model_path: str
) -> str:
    """The model card of a completed session's final adapter, as Markdown.

    Parameters
    ----------
    trail : Trail
        The session's compliance export (session, rounds, nodes) from the chain.
    node_id : str
        The node writing the card; its accuracy is the one reported as this site's.
    accuracy : float or None
        The final adapter's accuracy on this node's own test split, when measured.
    base_model_path : str
        The base model's local folder, "" when it has none (the tiny test model).
    """
    session = trail.session
    sections = [
        _front_matter(session.base_model, base_model_path),
        f"# Federated LoRA adapter: session `{_text(session.session_id)}`\n",
        "Trained by fedlora across the organisations below; every round's inputs, aggregate "
        "and endorsements are recorded on the Hyperledger Fabric channel.\n",
        _provenance(trail),
        _verification(session.final_adapter_sha256),
        _rounds_table(trail.rounds),
        _accuracy(trail.rounds, node_id, accuracy),
        _privacy(trail),
        _loading(base_model_path, session.base_model),
    ]
    return "\n".join(sections)


def _text(value: object) -> str:
    # Chain values go into Markdown table cells and code spans: no pipes, backticks or breaks.
    return " ".join(str(value).replace("|", "/").replace("`", "'").split())


def _front_matter(base_model: str, base_model_path: str) -> str:
    return (
        "---\nlibrary_name: peft\n"
        f"base_model: {_text(base_model_path or base_model)}\n"
        "tags:\n- lora\n- federated-learning\n- fedlora\n---\n"
    )


def _provenance(trail: Trail) -> str:
    session = trail.session
    orgs = sorted({node.split("/", 1)[0] for node in session.participants})
    params = ", ".join(f"{k}={v:g}" for k, v in sorted(session.rule.params.items()))
    lora = session.lora
    rows = [
        ("Base model", f"`{_text(session.base_model)}`"),
        ("Base model weights SHA-256", f"`{_text(session.base_model_sha256)}`"),
        ("Session id", f"`{_text(session.session_id)}`"),
        ("Dataset tag", f"`{_text(session.dataset_tag)}`"),
        ("Rounds", f"{len(trail.rounds)} of {session.rounds}, quorum {session.quorum}"),
        ("Organisations", ", ".join(f"`{_text(o)}`" for o in orgs)),
        ("Nodes", ", ".join(f"`{_text(n)}`" for n in session.participants)),
        ("Aggregation rule", f"`{_text(session.rule.name)}`" + (f" ({params})" if params else "")),
        ("LoRA", f"rank {lora.rank}, alpha {lora.alpha:g}, dropout {lora.dropout:g}, "
                 f"modules {_text(', '.join(lora.target_modules))}"
                 + (f", top {lora.top_layers} layers" if lora.top_layers else "")),
        ("Session created / started", f"{session.created_at} / {session.started_at}"),
    ]  # fmt: skip
    lines = ["## Provenance\n", "| | |", "|---|---|"]
    lines += [f"| {label} | {value} |" for label, value in rows]
    return "\n".join(lines) + "\n"


def _verification(final_sha256: str) -> str:
    return (
        "## Verify this adapter\n\n"
        f"Final adapter SHA-256 on chain: `{_text(final_sha256)}`\n\n"
        f"`{WEIGHTS_FILE}` holds exactly the bytes the chain recorded, so any tool checks it:\n\n"
        f"```\nsha256sum {WEIGHTS_FILE}\n```\n\n"
        "and a member of the channel sees its lineage (round, producer, inputs, endorsements), "
        "also for re-encoded copies:\n\n"
        "```\nfedlora audit verify . --config node.toml\n```\n"
    )


def _rounds_table(rounds: tuple[Round, ...]) -> str:
    lines = ["## Rounds\n", "| Round | Aggregator | Attempts | Updates | Aggregate SHA-256 |"]
    lines.append("|---|---|---|---|---|")
    for r in rounds:
        lines.append(
            f"| {r.round} | `{_text(r.aggregator)}` | {r.attempt + 1} | {len(r.updates)} "
            f"| `{_text(r.final_sha256[:16])}…` |"
        )
    return "\n".join(lines) + "\n"


def _accuracy(rounds: tuple[Round, ...], node_id: str, accuracy: float | None) -> str:
    lines = ["## Per-site accuracy\n"]
    if accuracy is not None:
        lines.append(
            f"Final adapter on this site's own test split (`{_text(node_id)}`): "
            f"**{accuracy:.4f}**. Other sites' test data never leaves them.\n"
        )
    lines.append(
        "Accuracy of the incoming global adapter that each site measured on its own test "
        "split before training, as its update recorded on chain:\n"
    )
    nodes = sorted({n for r in rounds for n in r.updates})
    lines.append("| Round | " + " | ".join(f"`{_text(n)}`" for n in nodes) + " |")
    lines.append("|---|" + "---|" * len(nodes))
    for r in rounds:
        cells = [r.updates[n].metrics.get("global_accuracy") if n in r.updates else None
                 for n in nodes]  # fmt: skip
        shown = [f"{c:.4f}" if c is not None else "–" for c in cells]
        lines.append(f"| {r.round} | " + " | ".join(shown) + " |")
    return "\n".join(lines) + "\n"


def _privacy(trail: Trail) -> str:
    """The session's differential-privacy budget and what each node spent; "" without one."""
    budget = trail.session.privacy
    if budget is None:
        return ""
    spent: dict[str, float] = {}
    for r in trail.rounds:
        for node, update in r.updates.items():
            spent[node] = max(spent.get(node, 0.0), update.epsilon_spent)
    lines = [
        "## Privacy budget\n",
        f"Differential privacy: epsilon {budget.epsilon:g} at delta {budget.delta:g}, noise "
        f"multiplier {budget.noise_multiplier:g}, clip norm {budget.clip_norm:g} (fixed on "
        "chain when the session was created).\n",
        "| Node | Epsilon spent (last update) |",
        "|---|---|",
    ]
    lines += [f"| `{_text(node)}` | {value:.4g} |" for node, value in sorted(spent.items())]
    return "\n".join(lines) + "\n"


def _loading(base_model_path: str, base_model: str) -> str:
    if base_model_path:
        how = (
            "```python\nfrom peft import AutoPeftModelForCausalLM\n\n"
            'model = AutoPeftModelForCausalLM.from_pretrained(".")\n```\n\n'
            f"`adapter_config.json` names the local base model folder "
            f"`{_text(base_model_path)}`.\n"
        )
    else:
        how = (
            f"The base model `{_text(base_model)}` is built in code and has no folder: load it "
            'with `fedlora.training.load_model`, then `PeftModel.from_pretrained(model, ".")`.\n'
        )
    return "## Loading\n\n" + how
