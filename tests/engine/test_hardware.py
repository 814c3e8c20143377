"""Automatic settings follow the hardware, and each choice carries its reason.

A GPU cannot run here, so these tests describe one as torch would report it.
"""

from __future__ import annotations

import pytest

from engine.config import Settings
from engine.hardware import Gpu, Hardware, probe, resolve_auto


def gpu_machine(name, total_gb, capability):
    return Hardware(cuda=True, gpus=[Gpu(0, name, total_gb, capability, capability[0] >= 8)])


@pytest.mark.parametrize("machine, params_b, expected", [
    (gpu_machine("RTX 4090", 24, (8, 9)), 7.6,
     {"precision": "bf16", "batch_size": 4, "load_in_4bit": True, "gradient_checkpointing": True}),
    (gpu_machine("H100", 80, (9, 0)), 7.6,
     {"precision": "bf16", "batch_size": 8, "load_in_4bit": False}),
    (gpu_machine("T4", 16, (7, 5)), 3.1,
     {"precision": "fp16", "batch_size": 2, "load_in_4bit": False}),
    (gpu_machine("RTX 3060", 12, (8, 6)), 1.2,
     {"precision": "bf16", "batch_size": 1, "gradient_checkpointing": True}),
    (Hardware(cuda=False, cpu_capability="AVX2"), 0.004,
     {"device": "cpu", "precision": "fp32", "batch_size": 4, "load_in_4bit": False,
      "gradient_checkpointing": False, "use_unsloth": False}),
])
def test_auto_choices(machine, params_b, expected):
    choices = resolve_auto(Settings(), machine, params_b)
    for key, value in expected.items():
        assert getattr(choices, key) == value, key
    for key in ("precision", "batch_size", "load_in_4bit", "gradient_checkpointing",
                "use_unsloth"):
        assert choices.reasons[key], key


def test_explicit_values_are_kept():
    settings = Settings.from_dict({"precision": "fp32", "batch_size": 3, "load_in_4bit": False,
                                   "gradient_checkpointing": False})
    choices = resolve_auto(settings, gpu_machine("RTX 4090", 24, (8, 9)), 7.6)
    assert (choices.precision, choices.batch_size, choices.load_in_4bit,
            choices.gradient_checkpointing) == ("fp32", 3, False, False)
    assert "precision" not in choices.reasons


def test_probe_on_this_machine():
    hw = probe()
    assert hw.torch_version and hw.cpu_threads >= 1
    assert hw.device == ("cuda" if hw.gpus else "cpu")
