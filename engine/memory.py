"""How much GPU memory a LoRA run needs: weights, adapter, and each sequence of a batch.

Arithmetic on the model's config.json alone (standard library), so the engine can choose
4-bit loading and the batch size before any weight loads, and say why in numbers. The figures
are estimates for transformers + PEFT with SDPA attention; the training loop still splits a
batch that runs out of memory, so an estimate that is a little high costs one retry, not a run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

GIB = 2**30

#: Fixed cost of a CUDA process (context, cuBLAS workspaces) before any tensor.
CUDA_CONTEXT_GB = 1.0
#: Share of the card kept free for the caching allocator's fragmentation.
FRAGMENTATION = 0.08
#: Bytes per parameter of a bitsandbytes NF4 weight with double quantization (4.127 bits).
NF4_BYTES = 0.516
#: The largest batch chosen automatically: beyond it, gradient accumulation is as good.
MAX_AUTO_BATCH = 16


@dataclass(frozen=True)
class ModelShape:
    """The sizes of a decoder-only transformer that decide its memory."""

    hidden: int
    layers: int
    intermediate: int
    vocab: int
    heads: int
    kv_heads: int
    tied_embeddings: bool

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ModelShape | None:
        """Reads a transformers config dict (multimodal ones: their text part); None when the
        config lacks the sizes."""
        text = config.get("text_config") or config
        hidden, layers = text.get("hidden_size"), text.get("num_hidden_layers")
        vocab = text.get("vocab_size")
        if not (hidden and layers and vocab):
            return None
        heads = text.get("num_attention_heads") or max(1, hidden // 128)
        return cls(
            hidden=int(hidden), layers=int(layers),
            intermediate=int(text.get("intermediate_size") or 4 * hidden),
            vocab=int(vocab), heads=int(heads),
            kv_heads=int(text.get("num_key_value_heads") or heads),
            tied_embeddings=bool(config.get("tie_word_embeddings", False)),
        )

    @property
    def kv_dim(self) -> int:
        return self.hidden // self.heads * self.kv_heads

    @property
    def layer_params(self) -> int:
        """Parameters of one block's linear layers (attention and MLP)."""
        h, i = self.hidden, self.intermediate
        return 2 * h * h + 2 * h * self.kv_dim + 3 * h * i

    @property
    def embedding_params(self) -> int:
        """Input embeddings plus the output head (one matrix when they are tied)."""
        return self.vocab * self.hidden * (1 if self.tied_embeddings else 2)

    @property
    def params(self) -> int:
        return self.layers * self.layer_params + self.embedding_params

    def lora_params(self, r: int) -> int:
        """Adapter parameters with LoRA on every attention and MLP projection."""
        h, i, kv = self.hidden, self.intermediate, self.kv_dim
        per_layer = r * (2 * (h + h) + 2 * (h + kv) + 2 * (h + i) + (i + h))
        return self.layers * per_layer


@dataclass(frozen=True)
class Estimate:
    """GPU memory in GiB for one configuration of a run."""

    weights: float
    adapter: float
    per_sequence: float

    def total(self, batch_size: int) -> float:
        return self.weights + self.adapter + batch_size * self.per_sequence


def estimate(shape: ModelShape, *, precision: str, load_in_4bit: bool, checkpointing: bool,
             lora_r: int, max_length: int) -> Estimate:
    """Memory for training ``shape`` with LoRA rank ``lora_r`` on ``max_length``-token rows.

    Weights: 16-bit (or fp32) everywhere, or NF4 for the blocks' linear layers with the
    embeddings and output head left unquantized, as bitsandbytes does. Adapter: fp32 weights,
    gradients and two AdamW moments (16 bytes a parameter). A sequence: the activations kept
    for the backward pass (each block's input only, with checkpointing, plus one block being
    recomputed), and the logits, which dominate for large vocabularies: the 16-bit output, its
    fp32 copy for the loss, and the fp32 gradient.
    """
    width = 4 if precision == "fp32" else 2
    if load_in_4bit:
        # The engine keeps the unquantized weights in bf16; under fp16 or fp32 they are
        # upcast to fp32 (engine.models.add_lora).
        kept_width = 2 if precision == "bf16" else 4
        weights = (shape.layers * shape.layer_params * NF4_BYTES
                   + shape.embedding_params * kept_width)
    else:
        weights = shape.params * width
    adapter = shape.lora_params(lora_r) * 16

    h, i = shape.hidden, shape.intermediate
    block = (8 * h + 2 * shape.kv_dim + 4 * i) * width  # bytes per token kept by one block
    kept = shape.layers * h * width + block if checkpointing else shape.layers * block
    logits = shape.vocab * (width + 4 + 4)
    per_sequence = max_length * (kept + logits)
    return Estimate(weights / GIB, adapter / GIB, per_sequence / GIB)


def usable_gb(total_gb: float) -> float:
    """What a training process can count on of a card with ``total_gb``."""
    return max(0.0, total_gb * (1 - FRAGMENTATION) - CUDA_CONTEXT_GB)


def batch_that_fits(est: Estimate, total_gb: float) -> int:
    """The largest batch (1 to ``MAX_AUTO_BATCH``) whose estimate fits; 1 if none does."""
    room = usable_gb(total_gb) - est.weights - est.adapter
    return max(1, min(MAX_AUTO_BATCH, int(room // est.per_sequence)))


def card_needed_gb(est: Estimate, batch_size: int = 1) -> float:
    """The smallest card (GB) whose usable memory holds ``est`` at ``batch_size``."""
    return (est.total(batch_size) + CUDA_CONTEXT_GB) / (1 - FRAGMENTATION)
