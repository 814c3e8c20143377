"""What machine we are on, and the settings that follow from it, each with its reason.

``probe()`` imports torch; nothing here runs at import time. ``resolve_auto`` turns every
"auto" setting into a concrete value and records why, so the run's ``job.json`` and the app can
explain each choice.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import platform
from dataclasses import asdict, dataclass, field
from typing import Any

from engine import memory
from engine.config import Settings
from engine.memory import ModelShape

logger = logging.getLogger(__name__)


@dataclass
class Gpu:
    index: int
    name: str
    total_gb: float
    capability: tuple[int, int]
    bf16: bool


@dataclass
class Hardware:
    """A snapshot of the compute available to training."""

    cuda: bool
    gpus: list[Gpu] = field(default_factory=list)
    cpu_capability: str = ""
    cpu_threads: int = 1
    ram_gb: float = 0.0
    torch_version: str = ""
    cuda_version: str | None = None

    @property
    def device(self) -> str:
        return "cuda" if self.cuda else "cpu"

    def describe(self) -> str:
        if self.cuda and self.gpus:
            gpu = self.gpus[0]
            return f"cuda:0 ({gpu.name}, {gpu.total_gb:.0f} GB)"
        return f"CPU ({self.cpu_capability or platform.machine()}, {self.cpu_threads} threads)"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def probe() -> Hardware:
    """Inspects torch's view of the machine (imports torch)."""
    import torch

    gpus = []
    cuda = torch.cuda.is_available()
    if cuda:
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            gpus.append(Gpu(i, props.name, props.total_memory / 2**30,
                            (props.major, props.minor), props.major >= 8))
    try:
        cpu_capability = torch.backends.cpu.get_cpu_capability()
    except AttributeError:  # older torch
        cpu_capability = ""
    return Hardware(
        cuda=cuda,
        gpus=gpus,
        cpu_capability=cpu_capability,
        cpu_threads=torch.get_num_threads(),
        ram_gb=_ram_gb(),
        torch_version=torch.__version__,
        cuda_version=torch.version.cuda,
    )


def _ram_gb() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        return 0.0


@dataclass
class Choices:
    """Concrete values for the "auto" settings, with the reason for each."""

    device: str
    precision: str
    batch_size: int
    gradient_checkpointing: bool
    load_in_4bit: bool
    use_unsloth: bool
    reasons: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# Without a readable config: GPU memory (GB) → batch for a 7B-class model at 1-2k tokens.
_BATCH_BY_VRAM = ((48, 8), (32, 6), (24, 4), (16, 2), (0, 1))


def resolve_auto(settings: Settings, hw: Hardware, shape: ModelShape | None) -> Choices:
    """Decides every "auto" setting for this machine and model.

    Args:
        settings: The user's settings; explicit values are kept as they are.
        hw: The machine, from ``probe()``.
        shape: The base model's sizes from its config (``memory.ModelShape``), if known.
    """
    reasons: dict[str, str] = {}
    gpu = hw.gpus[0] if hw.cuda and hw.gpus else None
    params_b = shape.params / 1e9 if shape else None

    # Precision: bf16 where the hardware does it natively, else fp16 on GPU, fp32 on CPU.
    precision = settings.precision
    if precision == "auto":
        if gpu and gpu.bf16:
            precision, reasons["precision"] = "bf16", f"{gpu.name} supports bf16"
        elif gpu:
            precision, reasons["precision"] = "fp16", f"{gpu.name} has no native bf16"
        else:
            precision = "fp32"
            reasons["precision"] = (f"CPU ({hw.cpu_capability or 'no AMX'}): bf16 is emulated "
                                    "and many times slower")

    checkpointing = settings.gradient_checkpointing
    if checkpointing == "auto":
        big = (params_b or 0) > 1.0
        checkpointing = bool(gpu and big)
        reasons["gradient_checkpointing"] = (
            "GPU and a model over 1B parameters: saves activation memory" if checkpointing
            else "small model or CPU: recomputation would only cost time"
        )

    def needs(four_bit: bool) -> memory.Estimate:
        return memory.estimate(shape, precision=precision, load_in_4bit=four_bit,
                               checkpointing=bool(checkpointing), lora_r=settings.lora.r,
                               max_length=settings.data.max_length)

    # 4-bit when 16-bit weights, the adapter and one full-length sequence would not fit.
    load_in_4bit = settings.load_in_4bit
    if load_in_4bit == "auto":
        if gpu and shape:
            usable, need = memory.usable_gb(gpu.total_gb), needs(False).total(1)
            load_in_4bit = need > usable
            verdict = "more than" if load_in_4bit else "within"
            reasons["load_in_4bit"] = (f"16-bit training needs ~{need:.1f} GB, {verdict} the "
                                       f"~{usable:.1f} GB usable on {gpu.name}")
        else:
            load_in_4bit = False
            reasons["load_in_4bit"] = ("no CUDA GPU" if not gpu
                                       else "model size unknown: loading in 16-bit")
    if load_in_4bit and importlib.util.find_spec("bitsandbytes") is None:
        raise _unavailable("load_in_4bit", "bitsandbytes", "pip install bitsandbytes")

    batch_size = settings.batch_size
    if batch_size == "auto":
        if gpu and shape:
            est = needs(bool(load_in_4bit))
            batch_size = memory.batch_that_fits(est, gpu.total_gb)
            reasons["batch_size"] = (
                f"~{est.weights + est.adapter:.1f} GB for the weights and adapter, at most "
                f"~{est.per_sequence:.2f} GB per {settings.data.max_length}-token sequence: "
                f"{batch_size} fit in the ~{memory.usable_gb(gpu.total_gb):.1f} GB usable")
            if est.total(1) > memory.usable_gb(gpu.total_gb):
                reasons["batch_size"] += ("; even one full-length sequence may not fit: lower "
                                          "data.max_length")
        elif gpu:
            batch_size = next(b for gb, b in _BATCH_BY_VRAM if gpu.total_gb >= gb)
            reasons["batch_size"] = f"{gpu.total_gb:.0f} GB of GPU memory (model size unknown)"
        else:
            batch_size = 4
            reasons["batch_size"] = "CPU: 4 sequences keep both cores busy"

    use_unsloth = settings.use_unsloth
    if use_unsloth:
        # unsloth is tried only on CUDA (it patches transformers on import); any failure to
        # import it falls back to plain PEFT with the reason in the log and in job.json.
        problem = _unsloth_problem() if gpu else "needs a CUDA GPU"
        if problem is None:
            use_unsloth = True
            reasons["use_unsloth"] = "CUDA and unsloth present"
        else:
            if settings.use_unsloth is True:
                logger.warning("use_unsloth was asked for but %s; using plain PEFT", problem)
            reasons["use_unsloth"] = f"{problem}: using plain PEFT"
            use_unsloth = False

    return Choices(hw.device, precision, int(batch_size), bool(checkpointing),
                   bool(load_in_4bit), bool(use_unsloth), reasons)


def _unsloth_problem() -> str | None:
    if importlib.util.find_spec("unsloth") is None:
        return "needs the unsloth extra (not installed)"
    try:
        import unsloth  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - version clashes surface as many error types
        return f"unsloth failed to import ({type(exc).__name__}: {exc})"
    return None


def _unavailable(setting: str, package: str, fix: str) -> Exception:
    from engine.errors import BackpropError

    return BackpropError("FEATURE_UNAVAILABLE", f"{setting} needs the {package} package",
                         where=setting, hint=fix)
