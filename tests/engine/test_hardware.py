"""Automatic settings follow the hardware, and each choice carries its reason.

A GPU cannot run here, so these tests describe one as torch would report it.
"""

from __future__ import annotations

import pytest

from engine import memory
from engine.config import Settings
from engine.hardware import Gpu, Hardware, probe, resolve_auto
from engine.memory import MAX_AUTO_BATCH, ModelShape


def gpu_machine(name, total_gb, capability):
    return Hardware(cuda=True, gpus=[Gpu(0, name, total_gb, capability, capability[0] >= 8)])


# The sizes from the presets' config.json files (hub copies, as of their releases).
QWEN_7B = ModelShape.from_config({
    "hidden_size": 3584, "num_hidden_layers": 28, "intermediate_size": 18944,
    "vocab_size": 152064, "num_attention_heads": 28, "num_key_value_heads": 4,
    "tie_word_embeddings": False})
QWEN_3B = ModelShape.from_config({
    "hidden_size": 2048, "num_hidden_layers": 36, "intermediate_size": 11008,
    "vocab_size": 151936, "num_attention_heads": 16, "num_key_value_heads": 2,
    "tie_word_embeddings": True})
LLAMA_1B = ModelShape.from_config({
    "hidden_size": 2048, "num_hidden_layers": 16, "intermediate_size": 8192,
    "vocab_size": 128256, "num_attention_heads": 32, "num_key_value_heads": 8,
    "tie_word_embeddings": True})
TINY = ModelShape.from_config({"hidden_size": 256, "num_hidden_layers": 4, "vocab_size": 2048})


def test_model_sizes_match_the_published_counts():
    assert round(QWEN_7B.params / 1e9, 2) == 7.62
    assert round(QWEN_3B.params / 1e9, 2) == 3.09
    assert round(LLAMA_1B.params / 1e9, 2) == 1.24


def test_sizes_match_the_real_bundled_model_and_its_adapter(bundled_model):
    import json

    from transformers import AutoModelForCausalLM

    from engine.config import LoraSettings
    from engine.hardware import Choices
    from engine.models import add_lora

    shape = ModelShape.from_config(json.loads((bundled_model / "config.json").read_text()))
    model = AutoModelForCausalLM.from_pretrained(bundled_model)
    norms = sum(p.numel() for n, p in model.named_parameters() if "norm" in n)
    assert shape.params == sum(p.numel() for p in model.parameters()) - norms
    choices = Choices("cpu", "fp32", 4, False, False, False)
    peft_model = add_lora(model, LoraSettings(r=16), choices, seed=0)
    trainable = sum(p.numel() for p in peft_model.parameters() if p.requires_grad)
    assert shape.lora_params(16) == trainable


@pytest.mark.parametrize("machine, shape, expected, why", [
    # 16-bit 7B training fits a 24 GB card with room for three 1024-token sequences.
    (gpu_machine("RTX 4090", 24, (8, 9)), QWEN_7B,
     {"precision": "bf16", "batch_size": 3, "load_in_4bit": False,
      "gradient_checkpointing": True}, "within"),
    (gpu_machine("H100", 80, (9, 0)), QWEN_7B,
     {"precision": "bf16", "batch_size": MAX_AUTO_BATCH, "load_in_4bit": False}, "within"),
    # On 12 GB the 16-bit weights alone do not fit: 4-bit.
    (gpu_machine("RTX 3060", 12, (8, 6)), QWEN_7B,
     {"precision": "bf16", "batch_size": 2, "load_in_4bit": True}, "more than"),
    # On 8 GB even 4-bit is tight: batch 1, and the reason says what to lower.
    (gpu_machine("RTX 4060", 8, (8, 9)), QWEN_7B,
     {"batch_size": 1, "load_in_4bit": True}, "more than"),
    (gpu_machine("T4", 16, (7, 5)), QWEN_3B,
     {"precision": "fp16", "batch_size": 4, "load_in_4bit": False}, "within"),
    (gpu_machine("RTX 3060", 12, (8, 6)), LLAMA_1B,
     {"precision": "bf16", "batch_size": 5, "gradient_checkpointing": True}, "within"),
    (Hardware(cuda=False, cpu_capability="AVX2"), TINY,
     {"device": "cpu", "precision": "fp32", "batch_size": 4, "load_in_4bit": False,
      "gradient_checkpointing": False, "use_unsloth": False}, "no CUDA GPU"),
])
def test_auto_choices(machine, shape, expected, why):
    choices = resolve_auto(Settings(), machine, shape)
    for key, value in expected.items():
        assert getattr(choices, key) == value, key
    for key in ("precision", "batch_size", "load_in_4bit", "gradient_checkpointing",
                "use_unsloth"):
        assert choices.reasons[key], key
    assert why in choices.reasons["load_in_4bit"]
    if machine.cuda:
        assert "GB" in choices.reasons["batch_size"]
    if expected.get("batch_size") == 1:
        assert "lower data.max_length" in choices.reasons["batch_size"]


def test_longer_sequences_and_bigger_adapters_mean_smaller_batches():
    machine = gpu_machine("RTX 4090", 24, (8, 9))
    short = resolve_auto(Settings(), machine, LLAMA_1B).batch_size
    long = resolve_auto(Settings.from_dict({"data": {"max_length": 4096}}), machine,
                        LLAMA_1B).batch_size
    assert long < short
    est = memory.estimate(QWEN_7B, precision="bf16", load_in_4bit=False, checkpointing=True,
                          lora_r=64, max_length=1024)
    assert est.adapter > memory.estimate(QWEN_7B, precision="bf16", load_in_4bit=False,
                                         checkpointing=True, lora_r=16,
                                         max_length=1024).adapter


def test_an_unknown_model_size_falls_back_to_the_memory_table():
    choices = resolve_auto(Settings(), gpu_machine("RTX 4090", 24, (8, 9)), None)
    assert (choices.batch_size, choices.load_in_4bit) == (4, False)
    assert "unknown" in choices.reasons["batch_size"]


def test_explicit_values_are_kept():
    settings = Settings.from_dict({"precision": "fp32", "batch_size": 3, "load_in_4bit": False,
                                   "gradient_checkpointing": False})
    choices = resolve_auto(settings, gpu_machine("RTX 4090", 24, (8, 9)), QWEN_7B)
    assert (choices.precision, choices.batch_size, choices.load_in_4bit,
            choices.gradient_checkpointing) == ("fp32", 3, False, False)
    assert "precision" not in choices.reasons


def test_probe_on_this_machine():
    hw = probe()
    assert hw.torch_version and hw.cpu_threads >= 1
    assert hw.device == ("cuda" if hw.gpus else "cpu")
