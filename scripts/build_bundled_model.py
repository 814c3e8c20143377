"""Build the bundled tiny chat model from the corpus that ships in this repository.

The result, ``resources/models/tiny-chat/``, is a small Llama-architecture chat model with a
byte-level BPE tokenizer and a ChatML chat template. Every test trains it, and the app uses it
by default on machines without a GPU. The build is deterministic: fixed seeds, deterministic
torch algorithms and a single CPU thread, so running it twice on the same machine and torch
version gives byte-identical weights (the script prints their sha256). Different CPUs or
torch versions may round differently and so give slightly different weights.

Steps:

1. Train a byte-level BPE tokenizer on ``resources/models/corpus``.
2. Wrap it in ``transformers.PreTrainedTokenizerFast`` with the ChatML template.
3. Create a randomly initialised ``LlamaForCausalLM`` and pretrain it briefly (full
   parameters, AdamW, plain torch loop, bfloat16 autocast, about five minutes on one CPU
   thread) on the corpus: paragraphs of plain English and chat conversations rendered with
   the template.
4. Save the weights in float16 safetensors together with the tokenizer, the chat template,
   the generation config and a README.

Usage::

    python scripts/build_bundled_model.py            # writes resources/models/tiny-chat
    python scripts/build_bundled_model.py --out-dir /tmp/tiny-chat   # e.g. to compare hashes
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import os
import random
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

# Keep the tokenizers library single-threaded so that nothing can depend on thread timing.
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
from tokenizers import (  # noqa: E402
    Tokenizer,
    decoders,
    models,
    pre_tokenizers,
    processors,
    trainers,
)
from transformers import (  # noqa: E402
    AutoModelForCausalLM,
    AutoTokenizer,
    GenerationConfig,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedTokenizerFast,
)

logger = logging.getLogger("build_bundled_model")

REPO_ROOT = Path(__file__).resolve().parents[1]
CORPUS_DIR = REPO_ROOT / "resources" / "models" / "corpus"
DEFAULT_OUT_DIR = REPO_ROOT / "resources" / "models" / "tiny-chat"

SEED = 1234
VOCAB_SIZE = 2048
ENDOFTEXT = "<|endoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
PAD = "<pad>"
# The trainer gives special tokens the first ids, in this order: 0, 1, 2, 3.
SPECIAL_TOKENS = [ENDOFTEXT, IM_START, IM_END, PAD]

# ChatML. Each assistant message's content and its closing <|im_end|> sit inside a generation
# block, so apply_chat_template(..., return_assistant_tokens_mask=True) marks exactly the
# tokens a fine-tune should learn. The newline after <|im_end|> is outside the block: the
# model stops at <|im_end|>, so it never has to produce that newline. The generation prompt
# is exactly the header of an assistant turn, which makes the rendered prompt a string prefix
# of the rendered conversation that continues it with an assistant message.
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{%- if message['role'] == 'assistant' %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- generation %}{{- message['content'] + '<|im_end|>' }}{%- endgeneration %}"
    "{{- '\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

# Model shape. Row lengths (hidden and intermediate sizes) are multiples of 256 because GGUF
# k-quants pack weights in blocks of 256 values per row.
HIDDEN_SIZE = 256
INTERMEDIATE_SIZE = 768
NUM_LAYERS = 4
NUM_HEADS = 4
NUM_KV_HEADS = 2
MAX_POSITIONS = 1024

# Pretraining. Sized for about five minutes on one CPU thread. A peak learning rate of 1e-3
# works much better than 3e-3 here: with the higher rate the model learned the answer
# templates but never learned to look at the question.
SEQ_LEN = 256
TOKENS_PER_BATCH = 1024
STEPS = 1600
PEAK_LR = 1e-3
MIN_LR_RATIO = 0.1
WARMUP_STEPS = 30
WEIGHT_DECAY = 0.1
GRAD_CLIP = 1.0

SAMPLE_PROMPTS = [
    [{"role": "user", "content": "What is the capital of France?"}],
    [{"role": "user", "content": "What sound does a cow make?"}],
    [{"role": "system", "content": "You are a helpful assistant."},
     {"role": "user", "content": "What is a library?"}],
    [{"role": "user", "content": "My name is Oda. What is my name?"}],
    [{"role": "user", "content": "How can I sleep better?"}],
    [{"role": "user", "content": "What is 4 plus 5?"}],
]

README = """\
# tiny-chat

A toy chat model that ships with Backpropagate. It exists so that the app and its tests can
train and run a real model offline, on any CPU, in seconds. It knows a little simple English
and the chat format, nothing more: do not expect useful answers from it.

- Architecture: Llama (`LlamaForCausalLM`), {layers} layers, hidden size {hidden},
  intermediate size {inter}, {heads} attention heads, {kv_heads} key/value heads,
  {params:,} parameters. Hidden and intermediate sizes are multiples of 256 so that the
  model can be exported to GGUF with k-quants.
- Tokenizer: byte-level BPE with GPT-2's pre-tokenizer regex, {vocab} tokens. Special tokens:
  `<|endoftext|>` ({eot_id}, document separator), `<|im_start|>` ({ims_id}), `<|im_end|>`
  ({ime_id}, end of a turn and the eos token), `<pad>` ({pad_id}, padding). There is no bos
  token and the tokenizer adds no special tokens by itself; the chat template writes them.
- Chat format: ChatML (`<|im_start|>role\\ncontent<|im_end|>\\n`) with system, user and
  assistant roles. Assistant content and its `<|im_end|>` are marked as generation blocks,
  so `apply_chat_template(..., return_assistant_tokens_mask=True)` works.
- Weights: float16 safetensors; load them in float32 for training on CPU.

## How it is built

`python scripts/build_bundled_model.py` trains the tokenizer and pretrains the model from
scratch on `resources/models/corpus/` (text written for this project and generated by
`scripts/make_bundled_corpus.py`): {steps} steps of AdamW with bfloat16 autocast on one CPU
thread, about five minutes. The build is deterministic: the same machine and torch version
give the same weights.

## License

MIT, the same license as the Backpropagate project. This is a toy model for offline tests.
"""


def configure_determinism(seed: int, threads: int) -> None:
    """Make torch and Python randomness reproducible.

    Args:
        seed: Seed for Python's and torch's generators.
        threads: Number of CPU threads torch may use; 1 gives the most reproducible result.
    """
    random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(threads)


def load_corpus(corpus_dir: Path) -> tuple[list[str], list[list[dict[str, str]]]]:
    """Read the plain-text paragraphs and the chat conversations.

    Args:
        corpus_dir: Folder with ``sentences.txt`` and ``chats.jsonl``.

    Returns:
        The paragraphs and the conversations (lists of role/content messages).
    """
    paragraphs = [
        line.strip()
        for line in (corpus_dir / "sentences.txt").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    chats = [
        json.loads(line)["messages"]
        for line in (corpus_dir / "chats.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    return paragraphs, chats


def tokenizer_training_text(
    paragraphs: list[str], chats: list[list[dict[str, str]]]
) -> Iterator[str]:
    """Yield the text the BPE merges are learned from.

    Special tokens are left out: they are whole tokens already, and the trainer should not
    spend merges on their pieces.

    Args:
        paragraphs: Plain-text paragraphs.
        chats: Conversations.

    Yields:
        One text at a time.
    """
    yield from paragraphs
    for messages in chats:
        for message in messages:
            yield f"{message['role']}\n{message['content']}\n"


def train_tokenizer(
    paragraphs: list[str], chats: list[list[dict[str, str]]], vocab_size: int
) -> PreTrainedTokenizerFast:
    """Train the byte-level BPE tokenizer and wrap it for transformers.

    Args:
        paragraphs: Plain-text paragraphs.
        chats: Conversations.
        vocab_size: Target vocabulary size, special tokens included.

    Returns:
        The tokenizer, with the chat template and special tokens set.
    """
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    # Offsets are kept untrimmed so every character maps to a token; the assistant mask of
    # apply_chat_template is computed from these offsets.
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(tokenizer_training_text(paragraphs, chats), trainer=trainer)
    for expected_id, token in enumerate(SPECIAL_TOKENS):
        if tok.token_to_id(token) != expected_id:
            raise RuntimeError(f"special token {token} did not get id {expected_id}")

    # No bos token: the tokenizer never adds special tokens by itself, and every chat starts
    # with <|im_start|> written by the template. <|endoftext|> separates pretraining documents.
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=None,
        eos_token=IM_END,
        pad_token=PAD,
        unk_token=None,
        additional_special_tokens=[ENDOFTEXT, IM_START],
        add_bos_token=False,
        add_eos_token=False,
        clean_up_tokenization_spaces=False,
        model_max_length=MAX_POSITIONS,
        padding_side="right",
        chat_template=CHAT_TEMPLATE,
    )


def check_chat_template(tokenizer: PreTrainedTokenizerFast, chats: list[list[dict]]) -> None:
    """Check that each generation prompt is a string prefix of the continued conversation.

    Args:
        tokenizer: Tokenizer with the chat template.
        chats: Conversations to check.

    Raises:
        AssertionError: If the property does not hold for some conversation.
    """
    for messages in chats:
        for i, message in enumerate(messages):
            if message["role"] != "assistant":
                continue
            prompt = tokenizer.apply_chat_template(
                messages[:i], add_generation_prompt=True, tokenize=False
            )
            full = tokenizer.apply_chat_template(messages[: i + 1], tokenize=False)
            assert full.startswith(prompt), (prompt, full)


def encode_documents(
    tokenizer: PreTrainedTokenizerFast,
    paragraphs: list[str],
    chats: list[list[dict[str, str]]],
) -> list[list[int]]:
    """Turn every paragraph and conversation into token ids ending with <|endoftext|>.

    Args:
        tokenizer: The trained tokenizer.
        paragraphs: Plain-text paragraphs.
        chats: Conversations, rendered with the chat template.

    Returns:
        One list of token ids per document, each at most ``SEQ_LEN`` long.
    """
    eot = tokenizer.convert_tokens_to_ids(ENDOFTEXT)
    texts = paragraphs + [tokenizer.apply_chat_template(m, tokenize=False) for m in chats]
    encoded = tokenizer(texts, add_special_tokens=False)["input_ids"]
    return [ids[: SEQ_LEN - 1] + [eot] for ids in encoded]


def make_batches(
    documents: list[list[int]], rng: random.Random, pad_id: int, tokens_per_batch: int
) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Group documents of similar length into padded batches, in a random order.

    Each document is its own row and starts at position 0, the way a conversation is seen
    after fine-tuning, and no document can attend to another one. Sorting by length keeps
    padding small.

    Args:
        documents: Token ids per document.
        rng: Random source for tie-breaking and for the order of batches.
        pad_id: Id used to fill the end of shorter rows.
        tokens_per_batch: Upper bound on rows times the longest row of a batch.

    Returns:
        ``(input_ids, attention_mask, labels)`` per batch; padding is labelled -100.
    """
    keys = [(len(doc), rng.random(), i) for i, doc in enumerate(documents)]
    order = [i for _, _, i in sorted(keys)]
    groups: list[list[int]] = []
    current: list[int] = []
    for index in order:
        width = len(documents[index])  # sorted, so this is the longest row so far
        if current and (len(current) + 1) * width > tokens_per_batch:
            groups.append(current)
            current = []
        current.append(index)
    if current:
        groups.append(current)
    rng.shuffle(groups)

    batches = []
    for group in groups:
        width = max(len(documents[i]) for i in group)
        input_ids = torch.full((len(group), width), pad_id, dtype=torch.long)
        attention_mask = torch.zeros((len(group), width), dtype=torch.long)
        labels = torch.full((len(group), width), -100, dtype=torch.long)
        for row, index in enumerate(group):
            doc = torch.tensor(documents[index])
            input_ids[row, : len(doc)] = doc
            attention_mask[row, : len(doc)] = 1
            labels[row, : len(doc)] = doc
        batches.append((input_ids, attention_mask, labels))
    return batches


def make_model(tokenizer: PreTrainedTokenizerFast) -> LlamaForCausalLM:
    """Create the randomly initialised Llama model that matches the tokenizer.

    Args:
        tokenizer: The trained tokenizer.

    Returns:
        The model, in float32.
    """
    im_end = tokenizer.convert_tokens_to_ids(IM_END)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=HIDDEN_SIZE,
        intermediate_size=INTERMEDIATE_SIZE,
        num_hidden_layers=NUM_LAYERS,
        num_attention_heads=NUM_HEADS,
        num_key_value_heads=NUM_KV_HEADS,
        max_position_embeddings=MAX_POSITIONS,
        rms_norm_eps=1e-5,
        tie_word_embeddings=False,
        bos_token_id=None,
        eos_token_id=im_end,
        pad_token_id=tokenizer.pad_token_id,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
    )
    model = LlamaForCausalLM(config)
    # Both stop tokens end a greedy generation: <|im_end|> closes an answer, and
    # <|endoftext|> closes a plain-text document.
    model.generation_config = GenerationConfig(
        bos_token_id=None,
        eos_token_id=[im_end, tokenizer.convert_tokens_to_ids(ENDOFTEXT)],
        pad_token_id=tokenizer.pad_token_id,
        do_sample=False,
        max_new_tokens=128,
    )
    return model


def learning_rate(step: int, total: int, peak: float) -> float:
    """Linear warm-up followed by cosine decay to ``MIN_LR_RATIO * peak``.

    Args:
        step: Current step, from 0.
        total: Total number of steps.
        peak: Learning rate after warm-up.

    Returns:
        The learning rate for this step.
    """
    if step < WARMUP_STEPS:
        return peak * (step + 1) / WARMUP_STEPS
    progress = (step - WARMUP_STEPS) / max(1, total - WARMUP_STEPS)
    return peak * (MIN_LR_RATIO + (1 - MIN_LR_RATIO) * 0.5 * (1 + math.cos(math.pi * progress)))


def pretrain(
    model: LlamaForCausalLM,
    documents: list[list[int]],
    steps: int,
    peak_lr: float,
    pad_id: int,
    rng: random.Random,
    tokens_per_batch: int = TOKENS_PER_BATCH,
    bf16: bool = True,
) -> None:
    """Pretrain all parameters with AdamW, one epoch of freshly shuffled batches after another.

    Args:
        model: The model to train in place.
        documents: Token ids per document.
        steps: Number of optimizer steps.
        peak_lr: Peak learning rate.
        pad_id: Padding token id.
        rng: Random source for batching.
        tokens_per_batch: Upper bound on padded tokens per batch.
        bf16: Whether to run forward and backward under bfloat16 autocast.
    """
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "embed" not in n]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2 or "embed" in n]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": WEIGHT_DECAY},
         {"params": no_decay, "weight_decay": 0.0}],
        lr=peak_lr,
        betas=(0.9, 0.95),
    )
    model.train()
    batches: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
    start = time.monotonic()
    for step in range(steps):
        if not batches:
            batches = make_batches(documents, rng, pad_id, tokens_per_batch)
        input_ids, attention_mask, labels = batches.pop()
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, steps, peak_lr)
        # bfloat16 autocast roughly doubles CPU throughput; weights and optimizer stay float32.
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
        optimizer.step()
        if step % 50 == 0 or step == steps - 1:
            logger.info(
                "step %d/%d loss %.4f lr %.2e (%.0f s)",
                step + 1, steps, loss.item(), optimizer.param_groups[0]["lr"],
                time.monotonic() - start,
            )


def save(
    model: LlamaForCausalLM,
    tokenizer: PreTrainedTokenizerFast,
    out_dir: Path,
    steps: int,
) -> None:
    """Write the float16 model, tokenizer, generation config and README to ``out_dir``.

    Args:
        model: The pretrained model (converted to float16 in place).
        tokenizer: The tokenizer.
        out_dir: Destination folder; its previous contents are removed.
        steps: Number of pretraining steps, for the README.
    """
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    model.to(torch.float16)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    make_tokenizer_config_portable(out_dir / "tokenizer_config.json")
    config = model.config
    (out_dir / "README.md").write_text(
        README.format(
            layers=config.num_hidden_layers,
            hidden=config.hidden_size,
            inter=config.intermediate_size,
            heads=config.num_attention_heads,
            kv_heads=config.num_key_value_heads,
            params=sum(p.numel() for p in model.parameters()),
            vocab=len(tokenizer),
            eot_id=tokenizer.convert_tokens_to_ids(ENDOFTEXT),
            ims_id=tokenizer.convert_tokens_to_ids(IM_START),
            ime_id=tokenizer.convert_tokens_to_ids(IM_END),
            pad_id=tokenizer.pad_token_id,
            steps=steps,
        ),
        encoding="utf-8",
    )


def make_tokenizer_config_portable(path: Path) -> None:
    """Rewrite ``tokenizer_config.json`` so that other tools read it the same way.

    transformers 5 names the class ``TokenizersBackend`` and lists extra special tokens under
    ``extra_special_tokens``; older transformers releases, which GGUF converters may run
    with, only know ``PreTrainedTokenizerFast`` and ``additional_special_tokens``. Explicit
    ``add_bos_token``/``add_eos_token`` stop converters from assuming a bos token is added.

    Args:
        path: The ``tokenizer_config.json`` written by ``save_pretrained``.
    """
    config = json.loads(path.read_text(encoding="utf-8"))
    config["tokenizer_class"] = "PreTrainedTokenizerFast"
    if "extra_special_tokens" in config:
        config["additional_special_tokens"] = config.pop("extra_special_tokens")
    config["add_bos_token"] = False
    config["add_eos_token"] = False
    path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def sha256_of(path: Path) -> str:
    """Return the hex sha256 of a file.

    Args:
        path: File to hash.

    Returns:
        The hex digest.
    """
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sample_answers(out_dir: Path) -> list[tuple[str, str]]:
    """Reload the saved model in float32 and answer the sample prompts greedily.

    Args:
        out_dir: Folder of the saved model.

    Returns:
        Pairs of (last user message, generated text including special tokens).
    """
    tokenizer = AutoTokenizer.from_pretrained(out_dir)
    model = AutoModelForCausalLM.from_pretrained(out_dir, dtype=torch.float32)
    model.eval()
    results = []
    for messages in SAMPLE_PROMPTS:
        prompt = tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        with torch.no_grad():
            out = model.generate(**prompt, do_sample=False, max_new_tokens=48)
        generated = tokenizer.decode(out[0, prompt["input_ids"].shape[1]:])
        results.append((messages[-1]["content"], generated))
    return results


def main() -> None:
    """Parse arguments, build the model and print its summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    parser.add_argument("--corpus-dir", type=Path, default=CORPUS_DIR)
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--lr", type=float, default=PEAK_LR)
    parser.add_argument("--tokens-per-batch", type=int, default=TOKENS_PER_BATCH)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-bf16", action="store_true", help="train in plain float32")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    started = time.monotonic()
    configure_determinism(SEED, args.threads)
    paragraphs, chats = load_corpus(args.corpus_dir)
    tokenizer = train_tokenizer(paragraphs, chats, VOCAB_SIZE)
    check_chat_template(tokenizer, chats)
    logger.info("tokenizer: %d tokens", len(tokenizer))

    documents = encode_documents(tokenizer, paragraphs, chats)
    rng = random.Random(SEED)
    n_tokens = sum(len(doc) for doc in documents)
    logger.info("corpus: %d documents, %d tokens", len(documents), n_tokens)

    model = make_model(tokenizer)
    n_params = sum(p.numel() for p in model.parameters())
    logger.info("model: %d parameters", n_params)
    pretrain(
        model, documents, args.steps, args.lr, tokenizer.pad_token_id, rng,
        args.tokens_per_batch, not args.no_bf16,
    )
    save(model, tokenizer, args.out_dir, args.steps)

    for question, answer in sample_answers(args.out_dir):
        print(f"Q: {question}\nA: {answer!r}")
    weights = args.out_dir / "model.safetensors"
    folder_bytes = sum(p.stat().st_size for p in args.out_dir.iterdir())
    print(f"parameters: {n_params}")
    print(f"corpus: {n_tokens} tokens")
    print(f"folder: {args.out_dir} ({folder_bytes / 1e6:.2f} MB)")
    print(f"tokenizer.json sha256: {sha256_of(args.out_dir / 'tokenizer.json')}")
    print(f"model.safetensors sha256: {sha256_of(weights)}")
    print(f"build time: {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
