"""Run one method on one partition, in process, with the node's own training and aggregation."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from fedlora.aggregation import ClientUpdate, aggregate, is_lora_a
from fedlora.artifacts import encode_adapter
from fedlora.data import ClientData, Example, FederatedData
from fedlora.evaluation import (
    bytes_per_round,
    cross_generalization,
    cross_to_dict,
    score_split,
    summarize,
    summary_to_dict,
    traffic_to_dict,
)
from fedlora.simulation.config import MethodSpec, SimulationConfig
from fedlora.simulation.privacy import PrivacyPlan, plan_privacy
from fedlora.training import (
    FeatureCache,
    LocalTrainer,
    LoraSettings,
    Tensors,
    TrainerOptions,
    default_device,
    load_model,
    prompt_format_for,
)
from fedlora.training.dp import DpSettings, sample_rate


class Progress(Protocol):
    """Where the runner reports progress (a Rich bar in the CLI, nothing in tests)."""

    def start(self, label: str, total: int) -> None:
        """A method begins; ``total`` training units (site-rounds) follow."""

    def advance(self, detail: str) -> None:
        """One site finished one round of training."""


class SilentProgress:
    """Progress that reports nothing."""

    def start(self, label: str, total: int) -> None:
        """Ignore."""

    def advance(self, detail: str) -> None:
        """Ignore."""


@dataclass
class RunContext:
    """What every method of one (config, seed) shares: data and the frozen-layer cache."""

    config: SimulationConfig
    seed: int
    data: FederatedData
    progress: Progress = field(default_factory=SilentProgress)
    caches: dict[str, FeatureCache] = field(default_factory=dict)
    steps_taken: int = 0  # optimiser steps of the current method, over all sites
    privacy: PrivacyPlan | None = field(init=False)  # DP-SGD at every site; None: no DP

    def __post_init__(self) -> None:
        self.privacy = plan_privacy(self.config, self.data)

    def dp(self, noise_seed: int) -> DpSettings | None:
        """DP-SGD settings for one training call (None without DP), seeded like its batches."""
        return None if self.privacy is None else self.privacy.settings(noise_seed)


def make_trainer(context: RunContext, freeze_a: bool) -> LocalTrainer:
    """A fresh trainer for one method: same base model, LoRA initialised from the seed."""
    config = context.config
    settings = LoraSettings(
        rank=config.rank,
        alpha=config.lora_alpha,
        top_layers=config.top_layers,
        freeze_a=freeze_a,
        init_seed=context.seed,
    )
    loaded = load_model(config.model)
    prompt = prompt_format_for(context.data.corpus, context.data.instruction)
    options = TrainerOptions(bf16=config.bf16)
    layers = loaded.model.config.num_hidden_layers
    start = 0 if config.top_layers is None else max(0, layers - config.top_layers)
    key = f"{loaded.model_id}:{start}:{options.max_text_tokens}"
    cache = context.caches.setdefault(key, FeatureCache(key))
    return LocalTrainer(loaded, settings, prompt, len(context.data.label_names), options, cache)


def _evaluate_sites(
    trainer: LocalTrainer, clients: Sequence[ClientData]
) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    """Accuracy, mean loss and macro-F1 of the trainer's adapter on each site's test split."""
    accuracy, loss, macro_f1 = {}, {}, {}
    for client in clients:
        predictions, losses = trainer.predict(client.test)
        scores = score_split([e.label for e in client.test], predictions, losses)
        accuracy[client.name], loss[client.name] = scores.accuracy, scores.loss
        macro_f1[client.name] = scores.macro_f1
    return accuracy, loss, macro_f1


def _round_record(
    index: int,
    accuracy: dict[str, float],
    loss: dict[str, float],
    macro_f1: dict[str, float] | None = None,
) -> dict[str, Any]:
    record = {"round": index, "accuracy": accuracy, "loss": loss, "summary": _summary(accuracy)}
    if macro_f1 is not None:
        record["macro_f1"] = macro_f1
    return record


def _summary(accuracy: dict[str, float]) -> dict[str, Any]:
    return summary_to_dict(summarize(accuracy))


def _step_seed(seed: int, round_index: int, site_index: int) -> int:
    # Distinct, reproducible batch orders per (seed, round, site).
    return seed * 1_000_003 + round_index * 1_009 + site_index


def run_local(context: RunContext, spec: MethodSpec) -> dict[str, Any]:
    """Each site trains alone; then every site model is tested on every site (cross matrix)."""
    config, clients = context.config, context.data.clients
    trainer = make_trainer(context, freeze_a=False)
    initial = trainer.get_adapter()
    context.progress.start(spec.label, config.rounds * len(clients))
    curves: dict[str, list[float]] = {client.name: [] for client in clients}
    matrix: dict[str, dict[str, float]] = {}
    own_f1: dict[str, float] = {}
    for site_index, client in enumerate(clients):
        trainer.set_adapter(initial)
        for round_index in range(config.rounds):
            trainer.train(
                client.train,
                config.local_steps,
                config.batch_size,
                config.lr,
                seed=_step_seed(context.seed, round_index, site_index),
                privacy=context.dp(_step_seed(context.seed, round_index, site_index)),
            )
            context.steps_taken += config.local_steps
            curves[client.name].append(trainer.evaluate(client.test)[0])
            context.progress.advance(f"{client.name} round {round_index + 1}")
        matrix[client.name], _, macro_f1 = _evaluate_sites(trainer, clients)
        own_f1[client.name] = macro_f1[client.name]
    rounds = [
        _round_record(r + 1, {site: curves[site][r] for site in curves}, {})
        for r in range(config.rounds)
    ]
    final = {client.name: matrix[client.name][client.name] for client in clients}
    cross = cross_to_dict(cross_generalization(matrix))
    return {
        "rounds": rounds,
        "final": _summary(final),
        "final_macro_f1": _summary(own_f1),
        "matrix": matrix,
        "cross": cross,
    }


def run_centralized(context: RunContext, spec: MethodSpec) -> dict[str, Any]:
    """Pool every site's training data; same total steps as the federated methods."""
    config, clients = context.config, context.data.clients
    trainer = make_trainer(context, freeze_a=False)
    pooled: list[Example] = [example for client in clients for example in client.train]
    context.progress.start(spec.label, config.rounds)
    rounds = []
    for round_index in range(config.rounds):
        trainer.train(
            pooled,
            config.local_steps * len(clients),
            config.batch_size,
            config.lr,
            seed=_step_seed(context.seed, round_index, 0),
            privacy=context.dp(_step_seed(context.seed, round_index, 0)),
        )
        context.steps_taken += config.local_steps * len(clients)
        rounds.append(_round_record(round_index + 1, *_evaluate_sites(trainer, clients)))
        context.progress.advance(f"round {round_index + 1}")
    result = {"rounds": rounds, "final": rounds[-1]["summary"]}
    result["final_macro_f1"] = _summary(rounds[-1]["macro_f1"])
    result["global_test_accuracy"] = _global_accuracy(trainer, context.data)
    return result


def _global_accuracy(trainer: LocalTrainer, data: FederatedData) -> float | None:
    return trainer.evaluate(data.global_test)[0] if data.global_test else None


def _sent_tensors(tensors: Tensors, lora_mode: str) -> Tensors:
    # Under FFA every node already holds lora_A (the shared seeded init): only B travels.
    if lora_mode != "ffa":
        return tensors
    return {key: value for key, value in tensors.items() if not is_lora_a(key)}


def _traffic(updates: list[ClientUpdate], result: Any, lora_mode: str) -> dict[str, int]:
    update_bytes = max(len(encode_adapter(_sent_tensors(u.tensors, lora_mode))) for u in updates)
    aggregate_bytes = len(encode_adapter(_sent_tensors(result.tensors, lora_mode)))
    state_bytes = len(encode_adapter(result.server_state)) if result.server_state else 0
    traffic = bytes_per_round(
        len(updates),
        aggregate_bytes,
        update_bytes=update_bytes,
        state_bytes=state_bytes,
        peer_aggregator=True,
        recompute_verify=True,
    )
    return traffic_to_dict(traffic)


def _train_sites(
    context: RunContext,
    trainer: LocalTrainer,
    spec: MethodSpec,
    global_tensors: Tensors,
    r: int,
    held_out: str = "",
) -> list[ClientUpdate]:
    config = context.config
    assert spec.strategy is not None
    updates = []
    for site_index, client in enumerate(context.data.clients):
        if client.name == held_out:
            continue
        trainer.set_adapter(global_tensors)
        outcome = trainer.train(
            client.train,
            config.local_steps,
            config.batch_size,
            config.lr,
            proximal_mu=spec.strategy.proximal_mu,
            global_tensors=global_tensors,
            seed=_step_seed(context.seed, r, site_index),
            privacy=context.dp(_step_seed(context.seed, r, site_index)),
        )
        context.steps_taken += config.local_steps
        updates.append(
            ClientUpdate(client.name, trainer.get_adapter(), outcome.num_examples, outcome.loss)
        )
        context.progress.advance(f"{client.name} round {r + 1}")
    return updates


def run_federated(context: RunContext, spec: MethodSpec) -> dict[str, Any]:
    """Rounds of local training from the global adapter, then the strategy's aggregation."""
    config, clients, strategy = context.config, context.data.clients, spec.strategy
    assert strategy is not None
    trainer = make_trainer(context, freeze_a=strategy.lora_mode == "ffa")
    global_tensors, server_state = trainer.get_adapter(), None
    held_out_runs = len(clients) * (len(clients) - 1) if config.leave_one_out else 0
    context.progress.start(spec.label, config.rounds * (len(clients) + held_out_runs))
    rounds = []
    for r in range(config.rounds):
        started = time.perf_counter()
        updates = _train_sites(context, trainer, spec, global_tensors, r)
        result = aggregate(global_tensors, updates, strategy, server_state)
        global_tensors, server_state = result.tensors, result.server_state
        trainer.set_adapter(global_tensors)
        record = _round_record(r + 1, *_evaluate_sites(trainer, clients))
        record["train_loss"] = {u.client_id: u.loss for u in updates}
        record["weights"] = result.weights
        record["clip_factors"] = result.clip_factors  # < 1: that site's change was clipped
        record["bytes"] = _traffic(updates, result, strategy.lora_mode)
        record["seconds"] = time.perf_counter() - started
        rounds.append(record)
    result_dict = {"rounds": rounds, "final": rounds[-1]["summary"]}
    result_dict["final_macro_f1"] = _summary(rounds[-1]["macro_f1"])
    result_dict["global_test_accuracy"] = _global_accuracy(trainer, context.data)
    if config.personalize_steps:
        personalized = _personalize(context, trainer, global_tensors)
        result_dict["personalized"], result_dict["personalized_macro_f1"] = personalized
    if config.leave_one_out:
        unseen = _leave_one_site_out(context, spec)
        result_dict["unseen_site"], result_dict["unseen_site_macro_f1"] = unseen
    return result_dict


def _leave_one_site_out(context: RunContext, spec: MethodSpec) -> tuple[Any, Any]:
    """Federate without each site in turn; test that run's global adapter on the unseen site.

    A shared model's accuracy on the sites it trained on says nothing about a hospital that
    joins later; this does. Its steps are not counted in ``total_steps`` (the methods' equal
    compute budget): it is a test, not training of the reported model. Returns the summaries
    of accuracy and macro-F1.
    """
    strategy, steps_before = spec.strategy, context.steps_taken
    assert strategy is not None
    accuracy, macro_f1 = {}, {}
    for held_out in context.data.clients:
        trainer = make_trainer(context, freeze_a=strategy.lora_mode == "ffa")
        global_tensors, server_state = trainer.get_adapter(), None
        for r in range(context.config.rounds):
            updates = _train_sites(context, trainer, spec, global_tensors, r, held_out.name)
            result = aggregate(global_tensors, updates, strategy, server_state)
            global_tensors, server_state = result.tensors, result.server_state
        trainer.set_adapter(global_tensors)
        site_accuracy, _, site_f1 = _evaluate_sites(trainer, [held_out])
        accuracy.update(site_accuracy)
        macro_f1.update(site_f1)
    context.steps_taken = steps_before
    return _summary(accuracy), _summary(macro_f1)


def _personalize(
    context: RunContext, trainer: LocalTrainer, global_tensors: Tensors
) -> tuple[Any, Any]:
    """Each site fine-tunes the final global adapter on its own data, tested on its own split
    (summaries of accuracy and macro-F1).

    The personal adapter starts from the endorsed global one and never leaves the site; the
    global adapter stays what the consortium agreed on.
    """
    config, accuracy, macro_f1 = context.config, {}, {}
    for site_index, client in enumerate(context.data.clients):
        trainer.set_adapter(global_tensors)
        trainer.train(
            client.train,
            config.personalize_steps,
            config.batch_size,
            config.lr,
            seed=_step_seed(context.seed, config.rounds, site_index),
        )
        context.steps_taken += config.personalize_steps
        site_accuracy, _, site_f1 = _evaluate_sites(trainer, [client])
        accuracy.update(site_accuracy)
        macro_f1.update(site_f1)
    trainer.set_adapter(global_tensors)
    return _summary(accuracy), _summary(macro_f1)


def run_method(context: RunContext, spec: MethodSpec) -> dict[str, Any]:
    """Run one method and return its JSON-able result (rounds, final summary, extras)."""
    started = time.perf_counter()
    context.steps_taken = 0
    if spec.label == "local":
        body = run_local(context, spec)
    elif spec.label == "centralized":
        body = run_centralized(context, spec)
    else:
        body = run_federated(context, spec)
    return {
        "method": spec.describe(),
        "seed": context.seed,
        "sites": [client.name for client in context.data.clients],
        "seconds": time.perf_counter() - started,
        "total_steps": context.steps_taken,
        # A GPU and a CPU sum floating-point numbers differently; say which produced this run.
        "device": default_device(),
        **body,
        **_privacy_record(context, spec),
    }


def _privacy_record(context: RunContext, spec: MethodSpec) -> dict[str, Any]:
    """The run's DP parameters and each site's spent epsilon (nothing without DP)."""
    plan, config = context.privacy, context.config
    if plan is None:
        return {}
    pooled = None
    if spec.label == "centralized":
        count = sum(len(client.train) for client in context.data.clients)
        steps = config.rounds * config.local_steps * config.num_sites
        pooled = (sample_rate(config.batch_size, count), steps)
    return {"privacy": plan.describe(pooled)}
