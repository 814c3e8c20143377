"""Finding, loading and wrapping models: base weights, tokenizer, and the LoRA adapter.

The tokenizer loads before the weights so data problems surface in a second, not after a
multi-GB load. Weights load in fp32 on CPU, in the chosen 16-bit dtype on GPU, or in 4-bit
through bitsandbytes; unsloth's loader is used only when the choices say so.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.config import LoraSettings
from engine.errors import BackpropError
from engine.hardware import Choices, Hardware
from engine.logs import adopt_library_loggers
from engine.presets import BUNDLED, BUNDLED_MODEL_DIR, DEFAULT_GPU_MODEL, preset

logger = logging.getLogger(__name__)

# Attention and MLP projections per architecture; anything else gets "all-linear".
_TARGETS = {
    "llama": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    "mistral": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    "qwen2": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    "qwen3": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    "gemma": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    "gemma2": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    "phi3": ["qkv_proj", "o_proj", "gate_up_proj", "down_proj"],
    "gpt2": ["c_attn", "c_proj", "c_fc"],
}

# Architectures whose attention honours packed position_ids (padding-free batches).
PADDING_FREE_TYPES = {"llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "phi3"}


def resolve_model_name(name: str | None, cuda: bool) -> tuple[str, str]:
    """Turns the user's model choice into a local folder or hub id, with the reason.

    Returns:
        (model path or id, why this model).
    """
    if not name:
        if cuda:
            return DEFAULT_GPU_MODEL, "default model for a CUDA GPU"
        return str(BUNDLED_MODEL_DIR), "no CUDA GPU: the bundled model trains on CPU"
    found = preset(name)
    if found is not None:
        return found.model_id, f"preset {found.key}"
    if name == BUNDLED:
        return str(BUNDLED_MODEL_DIR), "the bundled model"
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise BackpropError("MODEL_NOT_FOUND", f"{path} has no config.json",
                                where="model", hint="Point at the folder that holds "
                                "config.json and the weights.")
        return str(path.resolve()), "local folder"
    if name.count("/") == 1 and not name.startswith((".", "/", "~")):
        return name, "Hugging Face id"
    raise BackpropError("MODEL_NOT_FOUND", f"{name!r} is neither a folder nor a hub id",
                        where="model")


#: The files a causal LM needs from the hub: configs, tokenizer, safetensors weights.
_HUB_PATTERNS = ["*.json", "*.safetensors", "*.model", "*.txt", "*.jinja", "*.tiktoken"]


def fetch_model(model: str, progress: Callable[[int, int], None],
                every_s: float = 1.0) -> None:
    """Downloads a hub model into the Hugging Face cache first, reporting bytes as it goes.

    ``from_pretrained`` would download the same files, but silently in the worker (its bars
    are off there), and a first 15 GB download must not look like a hang. The bytes are
    counted in the cache's blob folder, which is where every download lands, whatever
    transport the hub client picks. A folder, an offline machine or an unreachable hub is
    left to the loaders, which use the cache or say what is wrong.

    Args:
        model: A Hugging Face id.
        progress: Called with (bytes present, bytes in total) about every ``every_s``
            seconds, and once at the end.
    """
    if Path(model).exists() or os.environ.get("HF_HUB_OFFLINE") == "1":
        return
    import fnmatch
    import threading

    from huggingface_hub import HfApi, constants, snapshot_download

    try:
        info = HfApi().model_info(model, files_metadata=True)
    except Exception as exc:  # noqa: BLE001 - not found, gated, offline: the loaders say which
        logger.info("not prefetching %s: %s", model, str(exc).splitlines()[0] if str(exc) else exc)
        return
    files = {s.rfilename: s.size or 0 for s in info.siblings or []}
    patterns = list(_HUB_PATTERNS)
    if not any(name.endswith(".safetensors") for name in files):
        patterns.append("*.bin")  # older checkpoints have no safetensors
    total = sum(size for name, size in files.items()
                if any(fnmatch.fnmatch(name, p) for p in patterns))
    blobs = Path(constants.HF_HUB_CACHE) / f"models--{model.replace('/', '--')}" / "blobs"

    def present() -> int:
        try:
            return min(total, sum(p.stat().st_size for p in blobs.iterdir() if p.is_file()))
        except OSError:
            return 0

    failure: list[BaseException] = []

    def download() -> None:
        try:
            snapshot_download(model, revision=info.sha, allow_patterns=patterns)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            failure.append(exc)

    worker = threading.Thread(target=download, name="download", daemon=True)
    worker.start()
    while worker.is_alive():
        progress(present(), total)
        worker.join(every_s)
    if failure:
        first_line = (str(failure[0]).strip().splitlines() or [type(failure[0]).__name__])[0]
        raise BackpropError("MODEL_DOWNLOAD_FAILED", f"downloading {model} failed after "
                            f"{present() / 2**30:.1f} of {total / 2**30:.1f} GB: {first_line}",
                            where="model")
    progress(total, total)


def read_model_config(model: str) -> dict[str, Any]:
    """Reads config.json without loading weights (local folder or hub cache)."""
    path = Path(model)
    if path.is_dir():
        return json.loads((path / "config.json").read_text(encoding="utf-8"))
    try:
        from transformers import AutoConfig

        adopt_library_loggers()
        return AutoConfig.from_pretrained(model).to_dict()
    except Exception as exc:  # noqa: BLE001 - any failure here means "not reachable"
        raise not_found(model, exc) from None


def load_tokenizer(model: str) -> Any:
    from transformers import AutoTokenizer

    adopt_library_loggers()
    try:
        tokenizer = AutoTokenizer.from_pretrained(model)
    except OSError as exc:
        raise not_found(model, exc) from None
    if tokenizer.pad_token_id is None:
        # Padding is only used by padded batches and eval; the label mask ignores it.
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(model: str, choices: Choices, hw: Hardware, max_length: int) -> Any:
    """Loads the base model for training on the chosen device, dtype and quantization."""
    import torch

    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[
        choices.precision]
    if choices.use_unsloth:
        return _load_unsloth(model, choices, dtype, max_length)

    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {"dtype": dtype if hw.cuda else torch.float32}
    if hw.cuda:
        # Straight onto the GPU: loading 16-bit weights into RAM first needs as much free
        # RAM as the model is large (15 GB for a 7B model) before a byte reaches the card.
        kwargs["device_map"] = {"": 0}
    if choices.load_in_4bit:
        from transformers import BitsAndBytesConfig

        compute = dtype if hw.cuda else torch.float32
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=compute,
        )
        if not hw.cuda:
            kwargs["device_map"] = "cpu"
    try:
        base = AutoModelForCausalLM.from_pretrained(model, **kwargs)
    except OSError as exc:
        raise not_found(model, exc) from None
    except (ValueError, RuntimeError) as exc:
        raise BackpropError("MODEL_LOAD_FAILED", f"{model}: {exc}", where="model") from None
    base.config.use_cache = False
    return base


def add_lora(base: Any, lora: LoraSettings, choices: Choices, seed: int) -> Any:
    """Wraps the base model with a fresh LoRA adapter; base weights are frozen."""
    import torch

    if choices.use_unsloth:
        from unsloth import FastLanguageModel

        return FastLanguageModel.get_peft_model(
            base, r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
            target_modules=target_modules(base.config.model_type, lora.target_modules),
            use_gradient_checkpointing="unsloth" if choices.gradient_checkpointing else False,
            random_state=seed,
        )

    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    if choices.load_in_4bit and choices.precision == "bf16":
        # NOTE: prepare_model_for_kbit_training upcasts every weight it does not quantize
        # (embeddings, output head, norms) to fp32 for fp16's sake; for a 150k-token
        # vocabulary that is 2 GB more, on the small cards 4-bit is for. bf16 needs no upcast.
        for param in base.parameters():
            param.requires_grad = False
    elif choices.load_in_4bit:
        base = prepare_model_for_kbit_training(base, use_gradient_checkpointing=False)
    if choices.gradient_checkpointing:
        base.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        base.enable_input_require_grads()
    config = LoraConfig(
        r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout, bias="none",
        target_modules=target_modules(base.config.model_type, lora.target_modules),
        task_type="CAUSAL_LM",
    )
    # The adapter's random init is part of the run: seed it.
    torch.manual_seed(seed)
    model = get_peft_model(base, config)
    for param in model.parameters():
        if param.requires_grad and param.dtype != torch.float32:
            # Adapter weights train in fp32 even when the base computes in 16-bit.
            param.data = param.data.float()
    return model


def target_modules(model_type: str, setting: list[str] | str) -> list[str] | str:
    """The module names for LoRA; 'auto' picks the architecture's projections."""
    if isinstance(setting, list) and len(setting) == 1:
        setting = setting[0]  # "auto" from the environment arrives as a one-item list
    if setting != "auto":
        return setting
    return _TARGETS.get(model_type, "all-linear")


def _load_unsloth(model: str, choices: Choices, dtype: Any, max_length: int) -> Any:
    from unsloth import FastLanguageModel

    base, _tokenizer = FastLanguageModel.from_pretrained(
        model_name=model, max_seq_length=max_length, dtype=dtype,
        load_in_4bit=choices.load_in_4bit,
    )
    return base


def not_found(model: str, exc: Exception) -> BackpropError:
    offline = os.environ.get("HF_HUB_OFFLINE") == "1"
    unreachable = "connect" in str(exc).lower()
    if offline:
        hint = ("This machine is offline (HF_HUB_OFFLINE=1): download the model elsewhere and "
                "pass its folder.")
    elif unreachable:
        hint = ("huggingface.co cannot be reached from here and the model is not in the "
                "local cache: check the connection (or proxy), or pass a local folder.")
    else:
        hint = ("Check the id on huggingface.co (gated models need `huggingface-cli login`), "
                "or pass a local folder.")
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return BackpropError("MODEL_NOT_FOUND", f"cannot load {model!r}: {first_line}",
                         where="model", hint=hint)
