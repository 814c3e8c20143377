"""Automatic settings follow the hardware, and each choice carries its reason.

A GPU cannot run here, so these tests describe one as torch would report it.
"""

from __future__ import annotations

import pytest

from engine import memory
from engine.config import Settings
from engine.hardware import Gpu, Hardware, probe, resolve_auto
from engine.memory import MAX_AUTO_BATCH, ModelShape
from engine.presets import PRESETS, preset


def gpu_machine(name, total_gb, capability):
    return Hardware(cuda=True, gpus=[Gpu(0, name, total_gb, capability, capability[0] >= 8)])


QWEN_7B = preset("qwen2.5-7b").shape
QWEN_3B = preset("qwen2.5-3b").shape
LLAMA_1B = preset("llama-3.2-1b").shape
TINY = ModelShape.from_config({"hidden_size": 256, "num_hidden_layers": 4, "vocab_size": 2048})


def test_preset_sizes_give_the_published_parameter_counts():
    published = {"qwen2.5-7b": 7.62, "qwen2.5-3b": 3.09, "llama-3.2-3b": 3.21,
                 "llama-3.2-1b": 1.24, "mistral-7b": 7.25, "bundled": 0.0042}
    assert {p.key: round(p.params_b, 4 if p.key == "bundled" else 2)
            for p in PRESETS} == published


def test_presets_state_the_card_they_need():
    qwen = preset("qwen2.5-7b")
    assert 18 < qwen.vram_gb_lora16 < 24 and 8 < qwen.vram_gb_qlora < 12
    # Each figure is the card whose usable memory just holds one full-length sequence.
    machine = gpu_machine("card", qwen.vram_gb_lora16 + 0.1, (8, 9))
    assert not resolve_auto(Settings(), machine, QWEN_7B).load_in_4bit
    machine = gpu_machine("card", qwen.vram_gb_lora16 - 0.5, (8, 9))
    assert resolve_auto(Settings(), machine, QWEN_7B).load_in_4bit


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
