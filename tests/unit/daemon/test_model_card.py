"""The final adapter's model card says where it came from and how to check it."""

from __future__ import annotations

from msgspec.structs import replace
from tests.support.trails import NODES, make_trail, sha

from fedlora.daemon.model_card import render_model_card
from fedlora.ledger import Privacy


def test_the_card_names_the_base_model_session_orgs_rule_and_final_hash() -> None:
    # Prepare
    trail = make_trail()
    # Execute
    card = render_model_card(trail, NODES[1], 0.8125, "/models/smollm2-abc")
    # Assert
    assert "[More Information Needed]" not in card
    assert "base_model: /models/smollm2-abc" in card
    assert sha("base") in card and "`s1`" in card and "2 of 2, quorum 2" in card
    assert "`Org1MSP`, `Org2MSP`, `Org3MSP`" in card
    assert "`fedavg` (server_lr=1)" in card
    assert sha("a2") in card
    assert "sha256sum adapter_model.safetensors" in card and "fedlora audit verify" in card
    assert "**0.8125**" in card and NODES[1] in card
    assert "| 2 | 0.5000 | 0.5200 | 0.5400 |" in card  # each site's metric from the chain
    assert "AutoPeftModelForCausalLM" in card
    assert "privacy" not in card.lower()  # no budget on chain, so no placeholder


def test_a_base_model_without_a_folder_says_how_to_load_it_and_chain_text_stays_inert() -> None:
    trail = make_trail()
    hostile = replace(trail.session, dataset_tag="a|b`c\n## injected")
    card = render_model_card(replace(trail, session=hostile), NODES[0], None, "")
    assert "fedlora.training.load_model" in card and "base_model: tiny" in card
    assert "\n## injected" not in card and "a/b'c ## injected" in card
    assert "this site's own test split" not in card  # no accuracy measured: none claimed


def test_a_session_with_a_privacy_budget_shows_it_and_each_nodes_spent_epsilon() -> None:
    trail = make_trail()
    budget = Privacy(clip_norm=1.0, delta=1e-5, epsilon=8.0, noise_multiplier=1.1)
    last = trail.rounds[-1]
    updates = {n: replace(u, epsilon_spent=2.5) for n, u in last.updates.items()}
    rounds = (trail.rounds[0], replace(last, updates=updates))
    card = render_model_card(
        replace(trail, session=replace(trail.session, privacy=budget), rounds=rounds),
        NODES[0], 0.5, "",
    )  # fmt: skip
    assert "## Privacy budget" in card and "epsilon 8 at delta 1e-05" in card
    assert f"| `{NODES[2]}` | 2.5 |" in card
