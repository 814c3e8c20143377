"""Tests of the bundled tiny chat model in ``resources/models/tiny-chat``.

The model is what every other test fine-tunes and what the app uses without a GPU, so these
tests pin down the properties the engine relies on: it loads offline, its shapes suit GGUF
k-quants, its tokenizer is lossless, its chat template is ChatML with generation blocks, and
LoRA fine-tuning on ``examples/quickstart.jsonl`` teaches it new facts quickly on a CPU.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

# Set before transformers is imported: the hub client reads it once, at import time.
os.environ["HF_HUB_OFFLINE"] = "1"

import pytest  # noqa: E402
import torch  # noqa: E402
from peft import LoraConfig, get_peft_model  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
MODEL_PATH = Path(__file__).resolve().parents[2] / "resources/models/tiny-chat"
QUICKSTART_PATH = REPO_ROOT / "examples" / "quickstart.jsonl"

SPECIAL_TOKEN_IDS = {"<|endoftext|>": 0, "<|im_start|>": 1, "<|im_end|>": 2, "<pad>": 3}
SHAREGPT_ROLES = {"system": "system", "human": "user", "gpt": "assistant"}

# LoRA settings of the learnability test, tuned so that it passes reliably in a few seconds.
LORA_RANK = 16
LORA_ALPHA = 32
LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
LORA_LR = 2e-3
LORA_STEPS = 60

CONVERSATIONS = [
    [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "What is the capital of Peru?"},
        {"role": "assistant", "content": "The capital of Peru is Lima."},
        {"role": "user", "content": "And of Japan?"},
        {"role": "assistant", "content": "The capital of Japan is Tokyo."},
    ],
    [
        {"role": "user", "content": "Hi!"},
        {"role": "assistant", "content": " Hello! Nice to meet you.\n\nHow can I help?"},
        {"role": "user", "content": "Say 'Grüße' 🦦"},
        {"role": "assistant", "content": "Grüße 🦦"},
    ],
    [
        {"role": "user", "content": "What is 2 + 2?"},
        {"role": "assistant", "content": "2 + 2 = 4."},
    ],
]


@pytest.fixture(scope="module")
def tokenizer():
    """Load the bundled tokenizer from disk."""
    return AutoTokenizer.from_pretrained(MODEL_PATH)


@pytest.fixture(scope="module")
def model():
    """Load the bundled model from disk in float32, in eval mode."""
    loaded = AutoModelForCausalLM.from_pretrained(MODEL_PATH, dtype=torch.float32)
    loaded.eval()
    return loaded


def load_quickstart() -> list[list[dict[str, str]]]:
    """Read ``examples/quickstart.jsonl`` as lists of role/content messages.

    Returns:
        One conversation per record, with ShareGPT roles mapped to chat roles.
    """
    conversations = []
    for line in QUICKSTART_PATH.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        conversations.append(
            [
                {"role": SHAREGPT_ROLES[turn["from"]], "content": turn["value"]}
                for turn in record["conversations"]
            ]
        )
    return conversations


def chat_ids(tokenizer, messages: list[dict[str, str]], **kwargs) -> list[int]:
    """Render ``messages`` with the chat template and return the token ids.

    Args:
        tokenizer: The tokenizer with the chat template.
        messages: The conversation.
        **kwargs: Extra arguments for ``apply_chat_template``.

    Returns:
        The token ids.
    """
    return tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True, **kwargs)[
        "input_ids"
    ]


def greedy_answer(model, tokenizer, messages: list[dict[str, str]], max_new_tokens: int = 48):
    """Generate the assistant's reply to ``messages`` greedily.

    Args:
        model: A causal LM.
        tokenizer: Its tokenizer.
        messages: The conversation so far, ending with a user message.
        max_new_tokens: Generation limit.

    Returns:
        The generated token ids (without the prompt) as a list.
    """
    prompt = tokenizer.apply_chat_template(
        messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    with torch.no_grad():
        output = model.generate(**prompt, do_sample=False, max_new_tokens=max_new_tokens)
    return output[0, prompt["input_ids"].shape[1]:].tolist()


def test_loads_offline_with_quantizable_shapes(model, tokenizer) -> None:
    """The model loads from disk in float32 and its row lengths suit GGUF k-quants."""
    config = model.config
    assert config.model_type == "llama"
    assert config.hidden_size % 256 == 0
    assert config.intermediate_size % 256 == 0
    assert not config.tie_word_embeddings
    assert next(model.parameters()).dtype == torch.float32
    assert config.vocab_size == len(tokenizer)
    assert config.eos_token_id == tokenizer.eos_token_id
    assert config.pad_token_id == tokenizer.pad_token_id
    eos = model.generation_config.eos_token_id
    eos_ids = eos if isinstance(eos, list) else [eos]
    assert tokenizer.convert_tokens_to_ids("<|im_end|>") in eos_ids


def test_special_tokens(tokenizer) -> None:
    """Special tokens have fixed ids, encode as one token each and are never added silently."""
    assert tokenizer.eos_token == "<|im_end|>"
    assert tokenizer.pad_token == "<pad>"
    assert tokenizer.bos_token is None
    for token, token_id in SPECIAL_TOKEN_IDS.items():
        assert tokenizer.convert_tokens_to_ids(token) == token_id
        assert tokenizer.encode(token, add_special_tokens=False) == [token_id]
        assert tokenizer.encode(f"a{token}b", add_special_tokens=False)[1] == token_id
    plain = tokenizer.encode("hello world")
    assert not set(plain) & set(SPECIAL_TOKEN_IDS.values())


@pytest.mark.parametrize(
    "text",
    [
        "The quick brown fox jumps over the lazy dog.",
        "Grüße aus Zürich, naïve café, Søren and Zoë! 日本語のテキスト 🦦🚀 — “quotes” ½",
        "  leading spaces,\ttabs,\r\nwindows newlines\n\n\nand trailing spaces   ",
        "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n",
        "code: def f(x):\n    return x ** 2  # square\n<pad><|endoftext|>",
    ],
)
def test_round_trip_is_lossless(tokenizer, text: str) -> None:
    """Decoding the encoding of any text gives the text back, byte for byte."""
    ids = tokenizer.encode(text, add_special_tokens=False)
    assert tokenizer.decode(ids) == text


def test_chat_template_renders_chatml(tokenizer) -> None:
    """System, user and assistant turns render as ChatML, with an assistant header prompt."""
    messages = CONVERSATIONS[0][:3]
    rendered = tokenizer.apply_chat_template(messages, tokenize=False)
    assert rendered == (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\nWhat is the capital of Peru?<|im_end|>\n"
        "<|im_start|>assistant\nThe capital of Peru is Lima.<|im_end|>\n"
    )
    prompt = tokenizer.apply_chat_template(
        messages[:2], add_generation_prompt=True, tokenize=False
    )
    assert prompt.endswith("<|im_end|>\n<|im_start|>assistant\n")


@pytest.mark.parametrize("messages", CONVERSATIONS)
def test_generation_prompt_is_prefix_of_answered_conversation(tokenizer, messages) -> None:
    """The prompt for assistant turn i is a prefix of the conversation that includes turn i."""
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        prompt = tokenizer.apply_chat_template(
            messages[:i], add_generation_prompt=True, tokenize=False
        )
        full = tokenizer.apply_chat_template(messages[: i + 1], tokenize=False)
        assert full.startswith(prompt)
        # The same holds for the token ids, so a prompt can be extended without re-tokenizing.
        prompt_ids = tokenizer.encode(prompt, add_special_tokens=False)
        full_ids = tokenizer.encode(full, add_special_tokens=False)
        assert full_ids[: len(prompt_ids)] == prompt_ids


@pytest.mark.parametrize("messages", CONVERSATIONS)
def test_assistant_mask_marks_exactly_the_answers(tokenizer, messages) -> None:
    """The assistant mask covers each answer's content and its <|im_end|>, and nothing else."""
    encoded = tokenizer.apply_chat_template(
        messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
    )
    ids, mask = encoded["input_ids"], encoded["assistant_masks"]
    assert len(ids) == len(mask)

    expected = [0] * len(ids)
    answers = []
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        start = len(chat_ids(tokenizer, messages[:i], add_generation_prompt=True))
        # The answered conversation ends with "<|im_end|>" then "\n", which is one token.
        end = len(chat_ids(tokenizer, messages[: i + 1])) - 1
        assert ids[end - 1] == tokenizer.convert_tokens_to_ids("<|im_end|>")
        expected[start:end] = [1] * (end - start)
        answers.append(message["content"] + "<|im_end|>")
    assert mask == expected

    spans, current = [], []
    for token_id, flag in zip(ids, mask, strict=True):
        if flag:
            current.append(token_id)
        elif current:
            spans.append(tokenizer.decode(current))
            current = []
    assert spans == answers


def test_base_model_answers_in_chat_format(model, tokenizer) -> None:
    """Greedy decoding gives a short sentence and stops with <|im_end|>."""
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    for question in ["What is the capital of France?", "What sound does a dog make?"]:
        generated = greedy_answer(model, tokenizer, [{"role": "user", "content": question}])
        assert generated[-1] == im_end, tokenizer.decode(generated)
        text = tokenizer.decode(generated, skip_special_tokens=True)
        assert text.strip() and text.rstrip().endswith((".", "!", "?")), text


def test_lora_learns_the_quickstart_facts(tokenizer) -> None:
    """A few dozen LoRA steps on the quickstart examples make greedy decoding recite them."""
    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(MODEL_PATH, dtype=torch.float32)
    lora = LoraConfig(
        r=LORA_RANK,
        lora_alpha=LORA_ALPHA,
        lora_dropout=0.0,
        target_modules=LORA_TARGETS,
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(base, lora)
    conversations = load_quickstart()
    assert 6 <= len(conversations) <= 8

    # One padded batch with loss only on the assistant tokens.
    encoded = [
        tokenizer.apply_chat_template(
            messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
        )
        for messages in conversations
    ]
    width = max(len(e["input_ids"]) for e in encoded)
    input_ids = torch.full((len(encoded), width), tokenizer.pad_token_id)
    attention_mask = torch.zeros((len(encoded), width), dtype=torch.long)
    labels = torch.full((len(encoded), width), -100)
    for row, e in enumerate(encoded):
        ids = torch.tensor(e["input_ids"])
        mask = torch.tensor(e["assistant_masks"], dtype=torch.bool)
        input_ids[row, : len(ids)] = ids
        attention_mask[row, : len(ids)] = 1
        labels[row, : len(ids)] = torch.where(mask, ids, torch.tensor(-100))

    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=LORA_LR, weight_decay=0.0
    )
    model.train()
    for _ in range(LORA_STEPS):
        loss = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()

    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    for messages in conversations:
        generated = greedy_answer(model, tokenizer, messages[:-1])
        answer = tokenizer.decode(generated, skip_special_tokens=True)
        assert answer == messages[-1]["content"], (messages[-2]["content"], answer)
        assert generated[-1] == im_end
