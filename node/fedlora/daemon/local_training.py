"""Bind the coordinator's TrainerPort to the real local trainer and the node's own data.

The node's data never leaves this object: it trains on its train split, evaluates the global
adapter on its test split, and hands back only adapter tensors and scalar metrics.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fedlora.artifacts import Tensors
from fedlora.config import TrainingConfig
from fedlora.daemon.ports import LocalUpdate
from fedlora.daemon.privacy import PrivacySpend
from fedlora.data import (
    ClientData,
    Example,
    FederatedData,
    PartitionSpec,
    load_icd10,
    load_table,
    partition,
)
from fedlora.errors import FedloraError
from fedlora.ledger import LoraSpec, Session
from fedlora.training import (
    LocalTrainer,
    LoraSettings,
    TrainerOptions,
    load_model,
    weights_sha256,
)
from fedlora.training import prompt_format_for as _prompt_format_for

_log = logging.getLogger("fedlora.daemon")


@dataclass(frozen=True)
class LocalData:
    """This node's examples and how to prompt for them."""

    corpus: str
    instruction: str
    num_labels: int
    train: tuple[Example, ...]
    test: tuple[Example, ...]


class NodeTrainer:
    """TrainerPort implementation: one LocalTrainer over the node's own shard.

    ``lora`` is the adapter shape the session fixed on chain; ``freeze_a`` is set under the
    FFA rules, which train lora_B only. With ``privacy`` (a session with a DP budget) every
    round trains with DP-SGD and its update carries the epsilon spent so far.
    """

    def __init__(
        self,
        settings: TrainingConfig,
        lora: LoraSpec,
        data: LocalData,
        freeze_a: bool = False,
        privacy: PrivacySpend | None = None,
    ) -> None:
        self._settings, self._data, self._privacy = settings, data, privacy
        self._lora = LoraSettings(
            rank=lora.rank,
            alpha=lora.alpha,  # a float on chain; peft scales by lora_alpha / r
            dropout=lora.dropout,
            target_modules=lora.target_modules,
            top_layers=lora.top_layers or None,
            freeze_a=freeze_a,
            init_seed=settings.seed,
        )
        prompt = _prompt_format_for(data.corpus, data.instruction)
        loaded = load_model(settings.model)
        self.base_model_sha256 = weights_sha256(loaded)  # before the adapter is attached
        # The base model's local folder ("" for the tiny test model, built in code).
        self.base_model_path = str(getattr(loaded.model, "name_or_path", "") or "")
        self._trainer = LocalTrainer(loaded, self._lora, prompt, data.num_labels, TrainerOptions())
        self._initial = self._trainer.get_adapter()
        self.compute_seconds = 0.0  # time spent training and evaluating, for the demo's report

    def initial_adapter(self, seed: int) -> Tensors:
        """The seeded initial adapter (identical on every node with the same settings)."""
        return {name: tensor.clone() for name, tensor in self._initial.items()}

    def train(self, global_tensors: Tensors, round_number: int, proximal_mu: float) -> LocalUpdate:
        """Evaluate the incoming global adapter, then train from it on the local split.

        In a session with a DP budget, a round that would overspend is refused before anything
        runs (``PrivacySpend.plan``); a trained one is recorded before its update is returned.
        """
        privacy, settings = self._privacy, self._settings
        if privacy is not None:
            spending = privacy.plan(
                round_number, settings.steps, settings.batch_size, len(self._data.train)
            )
        started = time.perf_counter()
        self._trainer.set_adapter(global_tensors)
        accuracy_before, _ = self._trainer.evaluate(self._data.test)
        result = self._trainer.train(
            self._data.train,
            self._settings.steps,
            self._settings.batch_size,
            self._settings.lr,
            proximal_mu=proximal_mu,
            global_tensors=global_tensors,
            seed=self._settings.seed * 1_009 + round_number,
            privacy=None if privacy is None else privacy.settings,
        )
        spent = None if privacy is None else privacy.record(spending)
        metrics = {"loss": result.loss, "global_accuracy": accuracy_before}
        _log.info(
            "round %d: trained %d steps of %d examples, loss %.4f",
            round_number,
            self._settings.steps,
            self._settings.batch_size,
            result.loss,
        )
        self.compute_seconds += time.perf_counter() - started
        tensors = self._trainer.get_adapter()
        return LocalUpdate(tensors, len(self._data.train), metrics, epsilon_spent=spent)

    def personalize(self, global_tensors: Tensors, steps: int) -> Tensors:
        """Fine-tune ``global_tensors`` ``steps`` steps on the local split: a personal adapter."""
        started = time.perf_counter()
        self._trainer.set_adapter(global_tensors)
        self._trainer.train(
            self._data.train,
            steps,
            self._settings.batch_size,
            self._settings.lr,
            seed=self._settings.seed * 1_009 + 999_983,  # a batch order no round used
        )
        self.compute_seconds += time.perf_counter() - started
        return self._trainer.get_adapter()

    def save_peft(
        self, tensors: Tensors, out_dir: Path, artifact: bytes | None = None, card: str = ""
    ) -> None:
        """Write ``tensors`` in the standard PEFT layout (``PeftModel.from_pretrained`` loads it).

        ``artifact``, the adapter's canonical bytes (what the chain hashes), replaces the
        weights file PEFT writes: its tensor names are PEFT's, so PEFT loads it as is and
        ``sha256sum adapter_model.safetensors`` gives the hash on chain. ``card`` replaces
        PEFT's empty README.md template. ``adapter_config.json`` names the local base model
        (when it has a folder), so ``AutoPeftModelForCausalLM.from_pretrained`` finds it.
        The files go to a scratch folder first and are moved into place whole.
        """
        self._trainer.set_adapter(tensors)
        scratch = out_dir.with_name(out_dir.name + ".partial")
        shutil.rmtree(scratch, ignore_errors=True)
        self._trainer.model.save_pretrained(str(scratch))
        if artifact is not None:
            (scratch / "adapter_model.safetensors").write_bytes(artifact)
        if card:
            (scratch / "README.md").write_text(card, encoding="utf-8")
        config_path = scratch / "adapter_config.json"
        adapter_config = json.loads(config_path.read_text(encoding="utf-8"))
        adapter_config["base_model_name_or_path"] = self.base_model_path
        config_path.write_text(json.dumps(adapter_config, indent=2, sort_keys=True) + "\n")
        shutil.rmtree(out_dir, ignore_errors=True)
        scratch.rename(out_dir)

    def evaluate(self, tensors: Tensors) -> float:
        """Accuracy of ``tensors`` on this node's test split."""
        started = time.perf_counter()
        self._trainer.set_adapter(tensors)
        accuracy = self._trainer.evaluate(self._data.test)[0]
        self.compute_seconds += time.perf_counter() - started
        return accuracy


def load_local_data(settings: TrainingConfig, dataset_tag: str) -> LocalData:
    """The node's shard: a CSV/JSONL file it holds, or its site of the built-in demo split.

    ``dataset_tag`` (from the session) names the built-in split as
    ``icd10:<partition>:<alpha>:<sites>:<seed>``, e.g. ``icd10:dirichlet:0.1:3:0``.
    """
    if settings.dataset != "icd10":
        path = Path(settings.dataset)
        corpus = load_table(path, settings.text_column, settings.label_column)
        examples = corpus.examples
        cut = max(1, len(examples) // 5)
        return LocalData(
            corpus.name, corpus.instruction, len(corpus.label_names), examples[cut:], examples[:cut]
        )
    federated = _demo_split(dataset_tag)
    client = _site(federated.clients, settings.site)
    return LocalData(
        federated.corpus,
        federated.instruction,
        len(federated.label_names),
        client.train,
        client.test,
    )


def _demo_split(dataset_tag: str) -> FederatedData:
    parts = dataset_tag.split(":")
    if len(parts) != 5 or parts[0] != "icd10":
        raise FedloraError(
            f"dataset tag {dataset_tag!r} is not icd10:<partition>:<alpha>:<sites>:<seed>",
            "create the session with e.g. --dataset icd10:dirichlet:0.1:3:0",
        )
    _, kind, alpha, sites, seed = parts
    try:  # the tag comes from the chain: another member wrote it
        spec = PartitionSpec(kind=kind, num_clients=int(sites), alpha=float(alpha), seed=int(seed))
    except ValueError:
        raise FedloraError(
            f"dataset tag {dataset_tag!r} has a non-numeric alpha, site count or seed",
            "the session's creator must fix the tag, e.g. icd10:dirichlet:0.1:3:0",
        ) from None
    return partition(load_icd10(max_per_label=300, seed=int(seed)), spec)


def _site(clients: Sequence[ClientData], site: str) -> ClientData:
    for client in clients:
        if client.name == site:
            return client
    names = ", ".join(client.name for client in clients)
    raise FedloraError(
        f"site {site!r} is not in the session's split", f"set training.site to one of {names}"
    )


def base_model_sha256(model_name: str) -> str:
    """The hash `session create` records for ``model_name``'s weights (see weights_sha256)."""
    return weights_sha256(load_model(model_name))


def check_base_model(trainer: NodeTrainer, configured: str, session: Session) -> None:
    """Refuse to train from weights other than those the session recorded on chain."""
    mine, theirs = trainer.base_model_sha256, session.base_model_sha256
    if configured != session.base_model or mine != theirs:
        raise FedloraError(
            f"this node's base model {configured!r} (weights {mine[:12]}) is not the "
            f"session's {session.base_model!r} (weights {theirs[:12]})",
            "set training.model in node.toml to the session's model, with the same weights",
        )
