"""Asking a trained run a question: its base model plus its adapter, greedy decoding.

The quickest answer to "did it learn?": ``backprop ask latest "What is …?"`` renders the
question with the model's own chat template, exactly as training did, and prints the reply.
A run that was stopped or crashed answers from its newest complete checkpoint.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine.errors import BackpropError
from engine.runs import JOB_FILE


def adapter_of(run_dir: Path) -> tuple[Path, str]:
    """The adapter folder to answer with, and which one it is (final or a checkpoint's)."""
    from engine.checkpoint import latest_valid

    final = run_dir / "adapter"
    if (final / "adapter_config.json").is_file():
        return final, "final adapter"
    found = latest_valid(run_dir / "checkpoints")
    if found is None:
        raise BackpropError("CHECKPOINT_NOT_FOUND", f"run {run_dir.name} has no adapter and no "
                            "complete checkpoint yet", where=str(run_dir),
                            hint="Let the run reach its first checkpoint, or resume it.")
    path, manifest = found
    return path / "adapter", f"checkpoint at step {manifest['step']}"


def load_trained(run_dir: Path) -> tuple[Any, Any, str]:
    """Loads a run's base model with its adapter, for generation.

    The base model loads as a run with the same settings would load it on this machine
    (precision, 4-bit, device), so a run that needed 4-bit to train also answers in 4-bit.

    Returns:
        (model in eval mode, tokenizer, a description of the adapter used).
    """
    from peft import PeftModel

    from engine import hardware, models
    from engine.config import Settings
    from engine.memory import ModelShape

    job = json.loads((run_dir / JOB_FILE).read_text(encoding="utf-8"))
    model_path = job.get("model_path")
    if not model_path:
        raise BackpropError("CHECKPOINT_NOT_FOUND", f"run {run_dir.name} never loaded a model",
                            where=str(run_dir), hint="Ask a run that trained at least a step.")
    adapter, which = adapter_of(run_dir)
    tokenizer = models.load_tokenizer(model_path)
    # PEFT wraps a plain transformers model here; unsloth's patches are for training.
    settings = Settings.from_dict({**job.get("settings", {}), "use_unsloth": False})
    hw = hardware.probe()
    shape = ModelShape.from_config(models.read_model_config(model_path))
    choices = hardware.resolve_auto(settings, hw, shape)
    base = models.load_model(model_path, choices, hw, settings.data.max_length)
    base.config.use_cache = True  # training turns it off; generation reuses past keys
    model = PeftModel.from_pretrained(base, str(adapter))
    return model.eval(), tokenizer, which


def answer(model: Any, tokenizer: Any, messages: list[dict[str, str]],
           max_new_tokens: int = 256) -> str:
    """Greedy reply to a conversation that ends with a user turn."""
    import torch

    inputs = tokenizer.apply_chat_template(messages, add_generation_prompt=True,
                                           return_tensors="pt", return_dict=True)
    inputs = {k: v.to(model.device) for k, v in inputs.items()}
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False,
                             pad_token_id=tokenizer.pad_token_id)
    reply = out[0, inputs["input_ids"].shape[1]:]
    return tokenizer.decode(reply, skip_special_tokens=True).strip()
