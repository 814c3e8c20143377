"""Model presets: the models we suggest, with what each needs (stdlib only).

The app imports this module for its model picker, so it must stay free of torch and the
Hugging Face stack, like ``engine.protocol``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

#: The small Llama-architecture chat model shipped in ``resources/``: the default without a GPU.
BUNDLED_MODEL_DIR = Path(__file__).resolve().parent.parent / "resources" / "models" / "tiny-chat"
BUNDLED = "bundled"

#: The default model on a machine with a CUDA GPU.
DEFAULT_GPU_MODEL = "Qwen/Qwen2.5-7B-Instruct"


@dataclass(frozen=True)
class ModelPreset:
    """A suggested model and the memory it needs for LoRA training."""

    key: str
    model_id: str
    label: str
    params_b: float
    vram_gb_lora16: float
    vram_gb_qlora: float
    license: str
    note: str

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


PRESETS: tuple[ModelPreset, ...] = (
    ModelPreset("qwen2.5-7b", "Qwen/Qwen2.5-7B-Instruct", "Qwen2.5 7B Instruct", 7.6, 20.0,
                9.0, "Apache-2.0", "Best quality of the presets; needs a 24 GB GPU for 16-bit."),
    ModelPreset("qwen2.5-3b", "Qwen/Qwen2.5-3B-Instruct", "Qwen2.5 3B Instruct", 3.1, 9.0,
                5.0, "Qwen Research (non-commercial)", "Fast and good; check the license."),
    ModelPreset("llama-3.2-3b", "meta-llama/Llama-3.2-3B-Instruct", "Llama 3.2 3B Instruct",
                3.2, 9.0, 5.0, "Llama 3.2 Community", "Gated on the hub: accept the license."),
    ModelPreset("llama-3.2-1b", "meta-llama/Llama-3.2-1B-Instruct", "Llama 3.2 1B Instruct",
                1.2, 4.5, 3.0, "Llama 3.2 Community", "Fastest preset; basic quality."),
    ModelPreset("mistral-7b", "mistralai/Mistral-7B-Instruct-v0.3", "Mistral 7B Instruct v0.3",
                7.2, 19.0, 8.5, "Apache-2.0", "Solid general model; long context."),
    ModelPreset(BUNDLED, str(BUNDLED_MODEL_DIR), "Bundled tiny model (offline, CPU)", 0.004,
                0.1, 0.1, "MIT", "A toy model for trying the app without a GPU or download."),
)


def preset(key: str) -> ModelPreset | None:
    """Returns the preset with this key (case-insensitive), or None."""
    key = key.lower()
    return next((p for p in PRESETS if p.key == key), None)
