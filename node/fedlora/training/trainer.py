"""LocalTrainer: LoRA fine-tuning and letter-scored evaluation on one site's examples.

Speed comes from exact shortcuts: the loss is taken only at the answer position (the logits
of the prompt tokens are never formed); batches are right-padded to their own longest prompt
(causal attention means the padding never reaches a real token); the prompt head that every
example shares is run once per batch, not once per row (``shared_prefix``); and when only the
top K layers carry LoRA the frozen layers below are run once per example and their output
reused.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as functional
from torch.nn.utils.rnn import pad_sequence

from fedlora.artifacts.codec import Tensors
from fedlora.errors import FedloraError
from fedlora.training.dp import DpSettings, DpSgd, sample_rate
from fedlora.training.lora import (
    LoraSettings,
    adapter_parameters,
    apply_lora,
    first_adapted_layer,
    get_adapter_tensors,
    set_adapter_tensors,
)
from fedlora.training.model import LoadedModel, cast_frozen_linears
from fedlora.training.prompts import (
    DEFAULT_MAX_TEXT_TOKENS,
    LabeledText,
    PromptEncoder,
    PromptFormat,
    answer_token_ids,
)
from fedlora.training.shared_prefix import run_last_layer, run_layers
from fedlora.training.threads import ThreadFitter, Threads

TokenIds = tuple[int, ...]


@dataclass(frozen=True)
class TrainResult:
    """Outcome of one local training call."""

    loss: float
    num_examples: int
    tokens: int
    seconds: float


@dataclass(frozen=True)
class TrainerOptions:
    """Runtime choices that do not change what is learned (bf16 aside)."""

    device: str | None = None
    bf16: bool = False
    max_text_tokens: int = DEFAULT_MAX_TEXT_TOKENS
    cache_features: bool = True
    eval_batch_size: int = 64
    threads: Threads = None  # None: torch's count; "auto": fit it to the free cores


def default_device() -> str:
    """CUDA when present, else CPU."""
    return "cuda" if torch.cuda.is_available() else "cpu"


class FeatureCache:
    """Outputs of the frozen lower layers, shareable by trainers of one base model.

    ``heads`` maps a prompt head (the tokens every prompt of a format starts with) to its
    hidden states; ``store`` maps each whole prompt to the hidden states of its tokens after
    the head.
    """

    def __init__(self, key: str) -> None:
        self.key = key
        self.heads: dict[TokenIds, torch.Tensor] = {}
        self.store: dict[TokenIds, torch.Tensor] = {}

    def __len__(self) -> int:
        return len(self.store)


class LocalTrainer:
    """Train and evaluate one LoRA adapter on a frozen base model.

    Parameters
    ----------
    loaded
        Base model and tokenizer (``load_model``); it is wrapped with LoRA in place.
    lora
        Adapter settings, identical on every node of a session.
    prompt
        Prompt format for this corpus.
    num_labels
        Number of labels; label i is answered by letter i.
    options
        Device, bf16 autocast and caching switches.
    cache
        A shared ``FeatureCache`` for the same base model and ``lora.top_layers``.
    """

    def __init__(
        self,
        loaded: LoadedModel,
        lora: LoraSettings,
        prompt: PromptFormat,
        num_labels: int,
        options: TrainerOptions | None = None,
        cache: FeatureCache | None = None,
    ) -> None:
        self.options = options or TrainerOptions()
        self._threads = ThreadFitter(self.options.threads)
        self.device = torch.device(self.options.device or default_device())
        self.lora = lora
        self.model = apply_lora(loaded.model, lora).to(self.device)
        self._parameters = adapter_parameters(self.model)
        self._encoder = PromptEncoder(loaded.tokenizer, prompt, self.options.max_text_tokens)
        self._answer_ids = torch.tensor(answer_token_ids(loaded.tokenizer, num_labels))
        causal_lm = self.model.base_model.model
        self._decoder, self._lm_head = causal_lm.model, causal_lm.lm_head
        causal_lm.set_attn_implementation("sdpa")  # run_layers builds sdpa's boolean masks
        if self.options.bf16:
            cast_frozen_linears(self._decoder.layers, torch.bfloat16)
        self._start = first_adapted_layer(len(self._decoder.layers), lora)
        cache_key = f"{loaded.model_id}:{self._start}:{self.options.max_text_tokens}"
        self._cache = cache if cache is not None else FeatureCache(cache_key)
        if self._cache.key != cache_key:
            raise FedloraError(f"feature cache {self._cache.key} does not fit {cache_key}")

    # -- adapter in and out -------------------------------------------------------------------

    def get_adapter(self) -> Tensors:
        """The adapter as CPU fp32 tensors keyed like ``peft.get_peft_model_state_dict``."""
        return get_adapter_tensors(self._parameters)

    def set_adapter(self, tensors: Tensors) -> None:
        """Load adapter tensors (same keys and shapes as ``get_adapter``)."""
        set_adapter_tensors(self._parameters, tensors)

    def trainable_parameters(self) -> list[torch.nn.Parameter]:
        """Parameters the optimiser updates (lora_B only under FFA)."""
        return [p for p in self._parameters.values() if p.requires_grad]

    # -- forward ----------------------------------------------------------------------------

    def _autocast(self) -> Any:
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.options.bf16)

    def _rows(self, prompts: Sequence[TokenIds]) -> list[TokenIds]:
        """Each prompt without the format's head, which every prompt starts with."""
        head = self._encoder.head
        if any(prompt[: len(head)] != head for prompt in prompts):
            raise FedloraError("a prompt does not start with this trainer's prompt head")
        return [prompt[len(head) :] for prompt in prompts]

    def _lower_features(self, rows: Sequence[TokenIds]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Hidden states entering the first adapted layer: the head's [head, hidden], and one
        [length, hidden] per row (the prompt after the head)."""
        head = torch.tensor([self._encoder.head], device=self.device)
        ids = pad_sequence([torch.tensor(r, device=self.device) for r in rows], batch_first=True)
        embed = self._decoder.embed_tokens
        with torch.no_grad(), self._autocast():
            lower = self._decoder.layers[: self._start]
            shared, hidden = run_layers(self._decoder, embed(head), embed(ids), lower)
        features = [hidden[index, : len(row)].float().clone() for index, row in enumerate(rows)]
        return shared[0].float(), features

    def _features(self, prompts: Sequence[TokenIds]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        rows = self._rows(prompts)
        if not self.options.cache_features:
            return self._lower_features(rows)
        head, heads, store = self._encoder.head, self._cache.heads, self._cache.store
        # Whole prompts as keys: a row's features depend on the head it follows. In length
        # order, so each chunk is padded to rows of nearly equal length.
        missing = sorted(dict.fromkeys(p for p in prompts if p not in store), key=len)
        for begin in range(0, len(missing), self.options.eval_batch_size):
            chunk = missing[begin : begin + self.options.eval_batch_size]
            heads[head], features = self._lower_features(self._rows(chunk))
            store.update(zip(chunk, features, strict=True))
        if head not in heads:  # every prompt was cached by a trainer sharing this cache
            heads[head] = self._lower_features(rows[:1])[0]
        return heads[head], [store[p] for p in prompts]

    def answer_logits(
        self, prompts: Sequence[TokenIds], head_per_row: bool = False
    ) -> torch.Tensor:
        """Full-vocabulary logits at each prompt's last position, shape [batch, vocab].

        ``head_per_row`` runs the shared prompt head once per row instead of once per batch,
        so every adapted layer sees a batch axis (DP-SGD's per-example gradients need it).
        """
        head, features = self._features(prompts)
        last = torch.tensor([len(f) - 1 for f in features], device=self.device)
        with self._autocast():
            *middle, top = self._decoder.layers[self._start :]
            rows = pad_sequence(features, batch_first=True)
            head = head.expand(len(features), -1, -1) if head_per_row else head.unsqueeze(0)
            head, rows = run_layers(self._decoder, head, rows, middle)
            final = run_last_layer(self._decoder, top, head, rows, last)
        # In fp32 even under bf16: autocast would convert the 28 M-weight output layer to bf16
        # on every call, which costs more than the few rows it multiplies.
        logits: torch.Tensor = self._lm_head(self._decoder.norm(final.float()))
        return logits

    def _answer_loss(
        self, logits: torch.Tensor, labels: torch.Tensor, reduction: str = "mean"
    ) -> torch.Tensor:
        targets = self._answer_ids.to(self.device)[labels]
        return functional.cross_entropy(logits, targets, reduction=reduction)

    # -- training ---------------------------------------------------------------------------

    def train(
        self,
        examples: Sequence[LabeledText],
        steps: int,
        batch_size: int,
        lr: float,
        proximal_mu: float = 0.0,
        global_tensors: Tensors | None = None,
        seed: int = 0,
        privacy: DpSettings | None = None,
    ) -> TrainResult:
        """Run ``steps`` AdamW steps on random batches; loss only on the answer token.

        Parameters
        ----------
        examples
            This site's training examples.
        steps, batch_size, lr
            Optimiser schedule (constant learning rate; a fresh optimiser per call, as each
            federated round starts from a new global adapter).
        proximal_mu
            FedProx: adds ``mu / 2 * ||w - w_global||^2`` over the trainable adapter weights.
        global_tensors
            The round's global adapter, the anchor of the proximal term (default: the adapter
            as it is when training starts).
        seed
            Seeds batch order and dropout.
        privacy
            DP-SGD (``training.dp``): Poisson batches of ``batch_size`` examples on average,
            each example's gradient clipped, Gaussian noise added. None: plain training.

        Returns
        -------
        TrainResult
            Mean answer loss over the steps (without the proximal term), examples, real
            tokens processed and wall seconds.
        """
        _check_schedule(examples, steps, batch_size, lr, proximal_mu)
        started = time.perf_counter()
        self._threads.fit()
        prompts = self._encoder.encode_all(examples)
        if self.options.cache_features:
            # All of them now, in full chunks: filled batch by batch, the frozen layers ran on
            # a few rows at a time (69 s instead of 25 s for the results cell's 1,250 prompts).
            self._features(prompts)
        labels = torch.tensor([example.label for example in examples], device=self.device)
        anchor = self._proximal_anchor(proximal_mu, global_tensors)
        optimizer = torch.optim.AdamW(self.trainable_parameters(), lr=lr, weight_decay=0.0)
        private = self._private(privacy, batch_size, len(prompts))
        batches = (
            private.batches(steps) if private else _batches(len(prompts), batch_size, steps, seed)
        )
        self.model.train()
        losses: list[float] = []
        tokens = 0
        with torch.random.fork_rng(devices=[]), private or contextlib.nullcontext():
            torch.manual_seed(seed)  # dropout draws
            for batch in batches:
                optimizer.zero_grad(set_to_none=True)
                losses += self._gradient([prompts[i] for i in batch], labels[batch], private)
                if anchor:  # data-independent: added after DP-SGD's noise, at no privacy cost
                    torch.autograd.backward(self._proximal_term(proximal_mu, anchor))
                optimizer.step()
                tokens += sum(len(prompts[i]) for i in batch)
        self.model.eval()
        return TrainResult(
            loss=sum(losses) / max(len(losses), 1),
            num_examples=len(examples),
            tokens=tokens,
            seconds=time.perf_counter() - started,
        )

    def _private(self, privacy: DpSettings | None, batch_size: int, count: int) -> DpSgd | None:
        if privacy is None:
            return None
        rate = sample_rate(batch_size, count)
        return DpSgd(self.model, self.trainable_parameters(), privacy, rate, count)

    def _gradient(
        self, prompts: Sequence[TokenIds], labels: torch.Tensor, private: DpSgd | None
    ) -> list[float]:
        """Set the trainable weights' gradients for one batch; its mean answer loss, if any."""
        if private is None:
            loss = self._answer_loss(self.answer_logits(prompts), labels)
            torch.autograd.backward(loss)
            return [float(loss.detach())]
        if not prompts:  # an empty Poisson batch still takes its (noise-only) step
            private.backward(None)
            return []
        logits = self.answer_logits(prompts, head_per_row=True)
        per_example = self._answer_loss(logits, labels, reduction="none")
        private.backward(per_example)
        return [float(per_example.detach().mean())]

    def _proximal_anchor(
        self, mu: float, global_tensors: Tensors | None
    ) -> list[tuple[torch.nn.Parameter, torch.Tensor]]:
        if mu == 0.0:
            return []
        reference = global_tensors if global_tensors is not None else self.get_adapter()
        if set(reference) != set(self._parameters):
            raise FedloraError(
                "the global adapter's keys do not match this model's adapter",
                "pass the round's global adapter from the same session",
            )
        return [
            (parameter, reference[key].to(self.device, parameter.dtype))
            for key, parameter in self._parameters.items()
            if parameter.requires_grad
        ]

    @staticmethod
    def _proximal_term(
        mu: float, anchor: list[tuple[torch.nn.Parameter, torch.Tensor]]
    ) -> torch.Tensor:
        if not anchor:
            return torch.zeros(())
        squared = torch.stack([((p - a) ** 2).sum() for p, a in anchor]).sum()
        return 0.5 * mu * squared

    # -- evaluation -------------------------------------------------------------------------

    def predict(self, examples: Sequence[LabeledText]) -> tuple[list[int], list[float]]:
        """Predicted label (argmax over the answer-letter logits) and answer loss per example."""
        self._threads.fit()
        prompts = self._encoder.encode_all(examples)
        predictions: list[int] = []
        losses: list[float] = []
        self.model.eval()
        size = self.options.eval_batch_size
        with torch.no_grad():
            for begin in range(0, len(prompts), size):
                logits = self.answer_logits(prompts[begin : begin + size])
                labels = torch.tensor(
                    [e.label for e in examples[begin : begin + size]], device=self.device
                )
                targets = self._answer_ids.to(self.device)[labels]
                letter_logits = logits[:, self._answer_ids.to(self.device)]
                predictions.extend(int(i) for i in letter_logits.argmax(dim=-1))
                losses.extend(functional.cross_entropy(logits, targets, reduction="none").tolist())
        return predictions, losses

    def evaluate(self, examples: Sequence[LabeledText]) -> tuple[float, float]:
        """Accuracy (letter argmax) and mean answer-token loss over ``examples``.

        Raises
        ------
        FedloraError
            When ``examples`` is empty.
        """
        if not examples:
            raise FedloraError("cannot evaluate on zero examples", "give a non-empty test split")
        predictions, losses = self.predict(examples)
        correct = sum(int(p == e.label) for p, e in zip(predictions, examples, strict=True))
        return correct / len(examples), sum(losses) / len(losses)


def _check_schedule(
    examples: Sequence[LabeledText], steps: int, batch_size: int, lr: float, mu: float
) -> None:
    if not examples:
        raise FedloraError("cannot train on zero examples", "give this site some training data")
    if steps < 1 or batch_size < 1:
        raise FedloraError(
            f"steps ({steps}) and batch size ({batch_size}) must be >= 1", "use e.g. 20 and 8"
        )
    if not lr > 0.0:
        raise FedloraError(f"learning rate must be > 0, got {lr}", "use e.g. 5e-4")
    if mu < 0.0:
        raise FedloraError(f"proximal mu must be >= 0, got {mu}", "use 0 to switch FedProx off")


def _batches(count: int, batch_size: int, steps: int, seed: int) -> Iterator[list[int]]:
    """``steps`` batches drawn epoch by epoch from seeded permutations (no repeats in an epoch)."""
    generator = torch.Generator().manual_seed(seed)
    size = min(batch_size, count)
    order: list[int] = []
    for _ in range(steps):
        if len(order) < size:
            order += torch.randperm(count, generator=generator).tolist()
        batch, order = order[:size], order[size:]
        yield batch
