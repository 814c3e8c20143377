"""Training settings as dataclasses with help text, and how they are resolved.

Precedence, lowest to highest: field defaults, a ``.env`` file, ``BACKPROPAGATE_*`` environment
variables (nested fields joined with ``__``, e.g. ``BACKPROPAGATE_LORA__R=32``), then explicit
arguments. "auto" values are resolved later against the hardware (``engine.hardware``) and the
chosen value is recorded with its reason in the run's ``job.json``.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union

from engine.errors import BackpropError

ENV_PREFIX = "BACKPROPAGATE_"


def _help(text: str, **kw: Any) -> Any:
    return field(metadata={"help": text}, **kw)


# NOTE: three passes, as in transformers' TrainingArguments: one pass over a small
# fine-tuning set rarely moves a model far enough to notice.
#: Passes over the data when neither steps nor epochs is given.
DEFAULT_EPOCHS = 3.0


@dataclass
class LoraSettings:
    """The LoRA adapter trained on top of the frozen base model."""

    r: int = _help("Adapter rank: capacity of the update. 8–64 is typical.", default=16)
    alpha: int = _help("Scale of the update (effective scale is alpha / r).", default=32)
    dropout: float = _help("Dropout on the adapter input during training.", default=0.05)
    target_modules: Union[str, list[str]] = _help(
        "Layers that get adapters: 'auto' picks the attention and MLP projections for the "
        "model's architecture; 'all-linear' or a list of module names also work.",
        default="auto",
    )


@dataclass
class DataSettings:
    """How the dataset is rendered, cut and split."""

    max_length: int = _help(
        "Longest sequence in tokens; longer records are cut (and counted in the summary).",
        default=1024,
    )
    eval_fraction: float = _help(
        "Share of records held out to measure eval loss (0 turns it off).", default=0.1
    )
    eval_min_rows: int = _help(
        "Below this many records no eval split is made: tiny data is all needed for training.",
        default=50,
    )
    shuffle: bool = _help("Shuffle the training order each epoch (seeded).", default=True)
    skip_invalid: bool = _help(
        "Skip records that fail validation (each is reported) instead of refusing the file.",
        default=False,
    )


Auto = Literal["auto"]


@dataclass
class Settings:
    """Everything that defines a training run. Saved, resolved, in the run's ``job.json``."""

    model: str | None = _help(
        "Local folder, Hugging Face id or preset name. Empty: the bundled model on a machine "
        "without a CUDA GPU, Qwen/Qwen2.5-7B-Instruct with one.",
        default=None,
    )
    steps: int | None = _help(
        "Optimizer steps to run. Empty: derived from epochs.",
        default=None,
    )
    epochs: float | None = _help("Passes over the training data, used when steps is empty.",
                                 default=DEFAULT_EPOCHS)
    batch_size: Union[int, Auto] = _help(
        "Sequences per step on the device. 'auto': as many full-length sequences as the GPU's "
        "memory holds beside the model (estimated from its config).", default="auto"
    )
    grad_accum: int = _help("Micro-batches summed into one optimizer step.", default=1)
    learning_rate: float = _help("Peak learning rate (LoRA-sized: 1e-4 to 5e-4).",
                                 default=2e-4)
    lr_scheduler: Literal["cosine", "linear", "constant"] = _help(
        "How the learning rate decays after warm-up.", default="cosine"
    )
    warmup_ratio: float = _help("Share of steps spent warming the learning rate up.",
                                default=0.05)
    weight_decay: float = _help("AdamW weight decay on adapter weights.", default=0.0)
    max_grad_norm: float = _help("Gradients are clipped to this norm (0 turns it off).",
                                 default=1.0)
    seed: int = _help("Seed for data order, eval split, dropout and adapter init.", default=42)
    precision: Literal["auto", "fp32", "bf16", "fp16"] = _help(
        "Compute precision. 'auto': bf16 on GPUs that support it, fp16 on older GPUs, fp32 on "
        "CPU (bf16 on CPUs without AMX is about 18x slower).",
        default="auto",
    )
    gradient_checkpointing: Union[bool, Auto] = _help(
        "Recompute activations to save memory. 'auto': on for GPU models over 1B parameters, "
        "off on CPU (it costs ~30% speed).",
        default="auto",
    )
    load_in_4bit: Union[bool, Auto] = _help(
        "Load the base model in 4-bit (QLoRA, bitsandbytes). 'auto': when 16-bit training "
        "would not fit in GPU memory.",
        default="auto",
    )
    use_unsloth: Union[bool, Auto] = _help(
        "Use unsloth's fast kernels. 'auto': when CUDA is present and unsloth is installed.",
        default="auto",
    )
    padding_free: bool = _help(
        "Concatenate a batch into one row without padding (same loss, less compute).",
        default=True,
    )
    thermal_pause_c: int = _help(
        "Hold training between steps when the GPU reaches this temperature in °C (0 turns the "
        "guard off); it goes on by itself once the GPU has cooled to thermal_resume_c.",
        default=90,
    )
    thermal_resume_c: int = _help("Temperature in °C at which a thermal pause ends.",
                                  default=80)
    checkpoint_every: int = _help("Write a resumable checkpoint every N steps (0: only at the "
                                  "end and on stop).", default=50)
    keep_checkpoints: int = _help("How many of this run's newest checkpoints to keep.",
                                  default=2)
    eval_every: int = _help("Measure eval loss every N steps (0: only at the end).", default=50)
    report_to: list[str] = _help(
        "Experiment trackers to log to: tensorboard, wandb, mlflow (when installed).",
        default_factory=list,
    )
    lora: LoraSettings = _help("LoRA adapter settings.", default_factory=LoraSettings)
    data: DataSettings = _help("Dataset rendering and split.", default_factory=DataSettings)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Settings:
        """Builds settings from a (possibly partial) nested dict, validating every field."""
        settings = cls()
        apply_overrides(settings, values, source="job")
        return settings


def resolve_settings(
    overrides: dict[str, Any] | None = None,
    *,
    environ: dict[str, str] | None = None,
    env_file: str | Path | None = ".env",
) -> Settings:
    """Builds the settings from defaults, ``.env``, environment and explicit overrides.

    Args:
        overrides: Explicit values; nested either as dicts (``{"lora": {"r": 32}}``), as
            dataclass instances, or as ``lora__r`` keys. ``None`` values are ignored.
        environ: The environment to read (defaults to ``os.environ``).
        env_file: A dotenv file to read first; missing files are ignored.

    Raises:
        BackpropError: ``CONFIG_UNKNOWN_SETTING`` or ``CONFIG_INVALID``.
    """
    settings = Settings()
    if env_file is not None and Path(env_file).is_file():
        apply_overrides(settings, _env_values(_read_dotenv(Path(env_file))),
                        source=str(env_file))
    env = os.environ if environ is None else environ
    apply_overrides(settings, _env_values(env), source="environment")
    if overrides:
        apply_overrides(settings, overrides, source="argument")
    return settings


def apply_overrides(target: Any, values: dict[str, Any], *, source: str, prefix: str = "") -> None:
    """Sets fields of a settings dataclass from a dict, converting and validating values."""
    hints = typing.get_type_hints(type(target))
    names = {f.name for f in dataclasses.fields(target)}
    for key, value in values.items():
        if value is None:
            continue
        head, _, rest = key.partition("__")
        name = f"{prefix}{head}"
        if head not in names:
            raise BackpropError(
                "CONFIG_UNKNOWN_SETTING", f"unknown setting {name!r} (from {source})",
                where=name,
            )
        current = getattr(target, head)
        if rest:
            apply_overrides(current, {rest: value}, source=source, prefix=f"{name}.")
        elif dataclasses.is_dataclass(current):
            if dataclasses.is_dataclass(value):
                value = dataclasses.asdict(value)
            if not isinstance(value, dict):
                raise BackpropError("CONFIG_INVALID", f"{name} must be a mapping, got {value!r}",
                                    where=name)
            apply_overrides(current, value, source=source, prefix=f"{name}.")
        else:
            setattr(target, head, _convert(value, hints[head], name, source))
    if not prefix:
        validate(target)


def validate(settings: Settings) -> None:
    """Checks ranges that types alone cannot express."""
    checks = [
        ("steps", settings.steps is None or settings.steps > 0, "a positive integer"),
        ("epochs", settings.epochs is None or settings.epochs > 0, "a positive number"),
        ("batch_size", settings.batch_size == "auto" or settings.batch_size > 0,
         "'auto' or a positive integer"),
        ("grad_accum", settings.grad_accum > 0, "a positive integer"),
        ("learning_rate", 0 < settings.learning_rate < 1, "between 0 and 1"),
        ("warmup_ratio", 0 <= settings.warmup_ratio < 1, "between 0 and 1"),
        ("checkpoint_every", settings.checkpoint_every >= 0, "0 or more"),
        ("keep_checkpoints", settings.keep_checkpoints >= 1, "at least 1"),
        ("eval_every", settings.eval_every >= 0, "0 or more"),
        ("thermal_pause_c", settings.thermal_pause_c >= 0, "0 (off) or a temperature in °C"),
        ("thermal_resume_c", settings.thermal_pause_c == 0
         or 0 < settings.thermal_resume_c < settings.thermal_pause_c,
         "a temperature below thermal_pause_c"),
        ("lora.r", settings.lora.r > 0, "a positive integer"),
        ("lora.alpha", settings.lora.alpha > 0, "a positive integer"),
        ("lora.dropout", 0 <= settings.lora.dropout < 1, "between 0 and 1"),
        ("data.max_length", settings.data.max_length >= 16, "at least 16"),
        ("data.eval_fraction", 0 <= settings.data.eval_fraction < 0.5, "between 0 and 0.5"),
    ]
    for name, ok, expected in checks:
        if not ok:
            value = settings
            for part in name.split("."):
                value = getattr(value, part)
            raise BackpropError("CONFIG_INVALID", f"{name} must be {expected}, got {value!r}",
                                where=name)
    known = {"tensorboard", "wandb", "mlflow"}
    for tracker in settings.report_to:
        if tracker not in known:
            raise BackpropError(
                "CONFIG_INVALID", f"report_to: unknown tracker {tracker!r}", where="report_to",
                hint=f"Use any of: {', '.join(sorted(known))}.",
            )


def describe(cls: type = Settings, prefix: str = "") -> list[tuple[str, str, Any]]:
    """Lists (dotted name, help, default) for every leaf setting, for --help and docs."""
    rows = []
    for f in dataclasses.fields(cls):
        has_factory = f.default_factory is not dataclasses.MISSING
        default = f.default_factory() if has_factory else f.default
        if dataclasses.is_dataclass(default):
            rows.extend(describe(type(default), f"{prefix}{f.name}."))
        else:
            rows.append((f"{prefix}{f.name}", f.metadata.get("help", ""), default))
    return rows


def _env_values(env: typing.Mapping[str, str]) -> dict[str, str]:
    values = {}
    for key, value in env.items():
        if key.startswith(ENV_PREFIX) and key not in _ENV_NOT_SETTINGS:
            values[key[len(ENV_PREFIX):].lower()] = value
    return values


# Variables under our prefix that configure the program rather than a run.
_ENV_NOT_SETTINGS = {
    "BACKPROPAGATE_HOME", "BACKPROPAGATE_VERBOSE", "BACKPROPAGATE_TORCH_INDEX_URL",
    "BACKPROPAGATE_TORCH_VERSION", "BACKPROPAGATE_ENGINE_PYTHON", "BACKPROPAGATE_FAULT",
}


def _read_dotenv(path: Path) -> dict[str, str]:
    values = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        if not sep:
            raise BackpropError("CONFIG_INVALID", "expected KEY=VALUE", where=f"{path}:{number}")
        values[key.strip()] = value.strip().strip("'\"")
    return values


def _convert(value: Any, hint: Any, name: str, source: str) -> Any:
    """Converts a value (often a string from the environment) to the field's type."""
    options = _options(hint)
    if isinstance(value, str) and "," in value:
        # "q_proj,v_proj" from the environment is a list even where a plain string would do.
        options = sorted(options, key=lambda o: typing.get_origin(o) is not list)
    errors = []
    for option in options:
        try:
            return _convert_one(value, option)
        except (TypeError, ValueError) as exc:
            errors.append(str(exc))
    expected = " or ".join(_type_name(o) for o in options)
    raise BackpropError(
        "CONFIG_INVALID", f"{name} must be {expected}, got {value!r} (from {source})", where=name
    )


def _options(hint: Any) -> list[Any]:
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        out = []
        for arg in typing.get_args(hint):
            out.extend(_options(arg))
        return out
    return [hint]


def _convert_one(value: Any, option: Any) -> Any:
    origin = typing.get_origin(option)
    if option is type(None):
        if value in ("", "none", "None", "null"):
            return None
        raise ValueError("not none")
    if origin is Literal:
        allowed = typing.get_args(option)
        if value in allowed:
            return value
        raise ValueError(f"one of {allowed}")
    if option is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ValueError("a boolean")
    if option is int:
        if isinstance(value, bool):
            raise ValueError("an integer")
        if isinstance(value, float) and not value.is_integer():
            raise ValueError("an integer")
        return int(value)
    if option is float:
        if isinstance(value, bool):
            raise ValueError("a number")
        return float(value)
    if option is str:
        if not isinstance(value, str):
            raise ValueError("a string")
        return value
    if origin is list:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, (list, tuple)):
            return [str(v) for v in value]
        raise ValueError("a list")
    raise TypeError(f"unsupported type {option!r}")


def _type_name(option: Any) -> str:
    if typing.get_origin(option) is Literal:
        return " or ".join(repr(a) for a in typing.get_args(option))
    if option is type(None):
        return "empty"
    if typing.get_origin(option) is list:
        return "a comma-separated list"
    return getattr(option, "__name__", str(option))
