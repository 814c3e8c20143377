"""Model presets: the models we suggest, with what each needs (stdlib only).

The app imports this module for its model picker, so it must stay free of torch and the
Hugging Face stack, like ``engine.protocol``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine import memory
from engine.config import DataSettings, LoraSettings
from engine.memory import ModelShape

#: The small Llama-architecture chat model shipped in ``resources/``: the default without a GPU.
BUNDLED_MODEL_DIR = Path(__file__).resolve().parent.parent / "resources" / "models" / "tiny-chat"
BUNDLED = "bundled"

#: The default model on a machine with a CUDA GPU.
DEFAULT_GPU_MODEL = "Qwen/Qwen2.5-7B-Instruct"


@dataclass(frozen=True)
class ModelPreset:
    """A suggested model, with the sizes from its config.json so that its memory needs can be
    worked out (``engine.memory``) before anything is downloaded."""

    key: str
    model_id: str
    label: str
    license: str
    note: str
    #: The config.json fields ``ModelShape`` reads; None: read the folder's own config.json.
    sizes: dict[str, Any] | None = field(default=None, compare=False)

    @property
    def shape(self) -> ModelShape | None:
        if self.sizes is not None:
            return ModelShape.from_config(self.sizes)
        config = Path(self.model_id) / "config.json"
        return ModelShape.from_config(json.loads(config.read_text(encoding="utf-8")))

    @property
    def params_b(self) -> float:
        shape = self.shape
        return shape.params / 1e9 if shape else 0.0

    def card_gb(self, four_bit: bool) -> float:
        """The smallest GPU that trains it at the default settings, one sequence a step."""
        shape = self.shape
        if shape is None:
            return 0.0
        return round(memory.card_needed_gb(memory.estimate(
            shape, precision="bf16", load_in_4bit=four_bit, checkpointing=self.params_b > 1.0,
            lora_r=LoraSettings().r, max_length=DataSettings().max_length)), 1)

    @property
    def vram_gb_lora16(self) -> float:
        return self.card_gb(four_bit=False)

    @property
    def vram_gb_qlora(self) -> float:
        return self.card_gb(four_bit=True)

    def to_dict(self) -> dict[str, object]:
        return {"key": self.key, "model_id": self.model_id, "label": self.label,
                "license": self.license, "note": self.note, "params_b": round(self.params_b, 2),
                "vram_gb_lora16": self.vram_gb_lora16, "vram_gb_qlora": self.vram_gb_qlora}


def _sizes(hidden: int, layers: int, intermediate: int, vocab: int, heads: int, kv_heads: int,
           tied: bool) -> dict[str, Any]:
    return {"hidden_size": hidden, "num_hidden_layers": layers,
            "intermediate_size": intermediate, "vocab_size": vocab,
            "num_attention_heads": heads, "num_key_value_heads": kv_heads,
            "tie_word_embeddings": tied}


# Sizes as published in each model's config.json on the Hugging Face hub.
PRESETS: tuple[ModelPreset, ...] = (
    ModelPreset("qwen2.5-7b", "Qwen/Qwen2.5-7B-Instruct", "Qwen2.5 7B Instruct", "Apache-2.0",
                "Best quality of the presets.",
                _sizes(3584, 28, 18944, 152064, 28, 4, False)),
    ModelPreset("qwen2.5-3b", "Qwen/Qwen2.5-3B-Instruct", "Qwen2.5 3B Instruct",
                "Qwen Research (non-commercial)", "Fast and good; check the license.",
                _sizes(2048, 36, 11008, 151936, 16, 2, True)),
    ModelPreset("llama-3.2-3b", "meta-llama/Llama-3.2-3B-Instruct", "Llama 3.2 3B Instruct",
                "Llama 3.2 Community", "Gated on the hub: accept the license.",
                _sizes(3072, 28, 8192, 128256, 24, 8, True)),
    ModelPreset("llama-3.2-1b", "meta-llama/Llama-3.2-1B-Instruct", "Llama 3.2 1B Instruct",
                "Llama 3.2 Community", "Fastest preset; basic quality.",
                _sizes(2048, 16, 8192, 128256, 32, 8, True)),
    ModelPreset("mistral-7b", "mistralai/Mistral-7B-Instruct-v0.3", "Mistral 7B Instruct v0.3",
                "Apache-2.0", "Solid general model; long context.",
                _sizes(4096, 32, 14336, 32768, 32, 8, False)),
    ModelPreset(BUNDLED, str(BUNDLED_MODEL_DIR), "Bundled tiny model (offline, CPU)", "MIT",
                "A toy model for trying the app without a GPU or download."),
)


def preset_for_model(model: str) -> ModelPreset | None:
    """The preset whose hub id or folder is ``model``, if any."""
    return next((p for p in PRESETS if model in (p.model_id, p.key)), None)


def preset(key: str) -> ModelPreset | None:
    """Returns the preset with this key (case-insensitive), or None."""
    key = key.lower()
    return next((p for p in PRESETS if p.key == key), None)
