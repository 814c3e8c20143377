"""What a run would decide on this machine, before it runs: ``backprop plan`` and the app.

The same decisions a run makes at its start (``hardware.resolve_auto``), with the memory
estimate behind them, worked out without loading weights and without the network: the model's
sizes come from its folder, the Hugging Face cache, or the preset's recorded sizes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine import hardware, memory
from engine.config import Settings
from engine.memory import ModelShape
from engine.models import resolve_model_name
from engine.presets import preset_for_model


def known_shape(model: str) -> ModelShape | None:
    """A model's sizes from what is on this machine: its folder, the hub cache, or a preset."""
    config = Path(model) / "config.json"
    if config.is_file():
        return ModelShape.from_config(json.loads(config.read_text(encoding="utf-8")))
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(model, "config.json")
        if isinstance(cached, str):
            return ModelShape.from_config(json.loads(Path(cached).read_text(encoding="utf-8")))
    except (ImportError, ValueError, OSError):
        pass
    found = preset_for_model(model)
    return found.shape if found else None


def plan_run(settings: Settings) -> dict[str, Any]:
    """The choices a run with ``settings`` would make here, each with its reason.

    Returns:
        A JSON-able dict: ``model``, ``model_reason``, ``device``, ``params_b``, ``choices``
        (as in a run's ``job.json``) and ``memory`` (GB figures on a GPU, else None).
    """
    hw = hardware.probe()
    model, model_reason = resolve_model_name(settings.model, hw.cuda)
    shape = known_shape(model)
    choices = hardware.resolve_auto(settings, hw, shape)
    if shape is None:
        choices.reasons.setdefault("model_size", "unknown until the model is downloaded")

    gpu = hw.gpus[0] if hw.cuda and hw.gpus else None
    usage, warnings = None, []
    if shape:
        est = memory.estimate(shape, precision=choices.precision,
                              load_in_4bit=choices.load_in_4bit,
                              checkpointing=choices.gradient_checkpointing,
                              lora_r=settings.lora.r, max_length=settings.data.max_length)
        needed = est.total(choices.batch_size)
        if gpu:
            usable = memory.usable_gb(gpu.total_gb)
            usage = {"weights_gb": est.weights, "adapter_gb": est.adapter,
                     "per_sequence_gb": est.per_sequence, "needed_gb": needed,
                     "usable_gb": usable, "total_gb": gpu.total_gb}
            if est.total(1) > usable:
                warnings.append(f"even one {settings.data.max_length}-token sequence may not "
                                f"fit in {gpu.total_gb:.0f} GB: lower the max length")
        else:
            # On a CPU the same figures are main memory (fp32 weights, no 4-bit).
            if hw.ram_gb and needed > 0.8 * hw.ram_gb:
                warnings.append(f"needs ~{needed:.0f} GB of memory; this machine has "
                                f"{hw.ram_gb:.0f} GB")
            if shape.params > 1e9:
                warnings.append(f"a {shape.params / 1e9:.1f}B model trains very slowly without "
                                "a CUDA GPU; the bundled model is there for trying things out")
    return {"model": model, "model_reason": model_reason, "device": hw.describe(),
            "params_b": shape.params / 1e9 if shape else None,
            "choices": choices.to_dict(), "memory": usage, "warnings": warnings}
