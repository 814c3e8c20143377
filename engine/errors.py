"""The catalogue of stable error codes, and the one exception type that carries them.

Every failure a user can cause or meet has a code here with a message and a hint. The codes are
part of the public contract (CLI output, protocol ``error`` events, ``docs/errors.md``): never
rename one; add new ones instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Exit-code categories shared with the CLI and the worker.
BAD_INPUT = 1
RUNTIME = 2


@dataclass(frozen=True)
class ErrorSpec:
    """One catalogue entry: what went wrong in general, and what to do about it."""

    code: str
    message: str
    hint: str
    category: int = BAD_INPUT


_SPECS = [
    # Data
    ErrorSpec(
        "DATA_NOT_FOUND",
        "The dataset file does not exist.",
        "Check the path; drop the file on the window or pass --data with an existing file.",
    ),
    ErrorSpec(
        "DATA_EMPTY",
        "The dataset has no usable records.",
        "Add at least one record; see examples/quickstart.jsonl for the expected shape.",
    ),
    ErrorSpec(
        "DATA_FORMAT_UNKNOWN",
        "The dataset's format could not be recognised.",
        "Use ShareGPT (conversations/from/value), Alpaca (instruction/input/output), "
        "OpenAI (messages/role/content) or raw text ({\"text\": ...}).",
    ),
    ErrorSpec(
        "DATA_FORMAT_MIXED",
        "Records in one file use different formats.",
        "Keep one format per file, or split the file by format.",
    ),
    ErrorSpec(
        "DATA_LINE_INVALID",
        "A record could not be parsed or lacks a required field.",
        "Fix the named line; each JSONL line must be one complete JSON object.",
    ),
    ErrorSpec(
        "DATA_EXTENSION_UNSUPPORTED",
        "The file type is not supported.",
        "Use .jsonl, .json, .csv, .parquet or .txt.",
    ),
    ErrorSpec(
        "DATA_NO_TRAINABLE_TOKENS",
        "No record has tokens to train on after rendering and truncation.",
        "Make sure records have assistant answers, or raise data.max_length.",
    ),
    # Model
    ErrorSpec(
        "MODEL_NOT_FOUND",
        "The model could not be found locally or on the model hub.",
        "Pass a local folder with config.json, a Hugging Face id (online), or leave the "
        "model empty to use the bundled model.",
    ),
    ErrorSpec(
        "MODEL_DOWNLOAD_FAILED",
        "Downloading the model from the Hugging Face hub stopped part way.",
        "Check the connection and the free disk space of the Hugging Face cache, then start "
        "again: the files already downloaded are kept and the rest resumes.",
        RUNTIME,
    ),
    ErrorSpec(
        "MODEL_LOAD_FAILED",
        "The model files were found but could not be loaded.",
        "Check that the folder is a complete transformers causal LM; re-download it if unsure.",
        RUNTIME,
    ),
    ErrorSpec(
        "MODEL_NO_CHAT_TEMPLATE",
        "The tokenizer has no chat template, so chat data cannot be rendered.",
        "Use an instruct/chat model, or train on raw text ({\"text\": ...}).",
    ),
    # Settings
    ErrorSpec(
        "CONFIG_INVALID",
        "A setting has an invalid value.",
        "Correct the named setting; `backprop train --help` lists every setting.",
    ),
    ErrorSpec(
        "CONFIG_UNKNOWN_SETTING",
        "A setting name is not known.",
        "Check the spelling; nested settings use '__' in environment variables "
        "(BACKPROPAGATE_LORA__R=32).",
    ),
    ErrorSpec(
        "FEATURE_UNAVAILABLE",
        "A requested feature needs a package or hardware that is not present.",
        "Install the named extra, or turn the feature off.",
    ),
    # Runs and checkpoints
    ErrorSpec(
        "RUN_NOT_FOUND",
        "No run with that id exists in the runs folder.",
        "Use `backprop list-runs` to see the ids; a unique prefix is enough.",
    ),
    ErrorSpec(
        "RUN_ALREADY_FINISHED",
        "The run has already finished; there is nothing to resume.",
        "Start a new run with `backprop train`.",
    ),
    ErrorSpec(
        "CHECKPOINT_INVALID",
        "A checkpoint is missing files or its files do not match its manifest.",
        "Resume from an earlier checkpoint; the damaged one is left in place for inspection.",
        RUNTIME,
    ),
    ErrorSpec(
        "CHECKPOINT_NOT_FOUND",
        "The run has no complete checkpoint to resume from.",
        "Start the run again; checkpoints are written every `checkpoint_every` steps.",
    ),
    # Runtime
    ErrorSpec(
        "TRAINING_FAILED",
        "Training stopped with an unexpected error.",
        "See the log for the traceback; the last checkpoint is intact and can be resumed.",
        RUNTIME,
    ),
    ErrorSpec(
        "TRAINING_DIVERGED",
        "The loss became NaN or infinite.",
        "Lower the learning rate or use fp32; resume from the last checkpoint.",
        RUNTIME,
    ),
    ErrorSpec(
        "OUT_OF_MEMORY",
        "The device ran out of memory and the batch could not be made smaller.",
        "Lower data.max_length or the LoRA rank, or enable 4-bit loading.",
        RUNTIME,
    ),
    ErrorSpec(
        "THERMAL_PAUSE",
        "Training is holding because the GPU is too hot (a warning).",
        "It goes on by itself once the GPU cools to thermal_resume_c; improve the airflow, or "
        "raise thermal_pause_c if your GPU is rated for more.",
    ),
    ErrorSpec(
        "PROTOCOL_BAD_COMMAND",
        "The worker received a line on stdin that is not a known command.",
        "Send one JSON object per line, e.g. {\"cmd\": \"pause\"}; commands are stop, pause, "
        "resume and checkpoint.",
    ),
    ErrorSpec(
        "DATA_TRUNCATED",
        "Some records are longer than data.max_length and were cut (a warning).",
        "Raise data.max_length if the cut parts matter, or split long records.",
    ),
    ErrorSpec(
        "DATA_CHANGED",
        "The dataset file changed since the run started (a warning on resume).",
        "Resume with the original file for an exact continuation, or start a new run.",
    ),
    ErrorSpec(
        "DATA_ONE_FILE",
        "Several files were dropped; a run trains on one file.",
        "Drop one file, or merge the files into one JSONL file first.",
    ),
    # The app and its worker process
    ErrorSpec(
        "WORKER_START_FAILED",
        "The engine worker process could not be started.",
        "Check that the engine's Python exists (set BACKPROPAGATE_ENGINE_PYTHON to it).",
        RUNTIME,
    ),
    ErrorSpec(
        "WORKER_DIED",
        "The engine worker ended before the run finished.",
        "See the log; completed checkpoints are kept: resume the run from the Runs tab or "
        "with `backprop resume <run-id>`.",
        RUNTIME,
    ),
    ErrorSpec(
        "PROTOCOL_MISMATCH",
        "The app and the engine speak different protocol versions.",
        "Install the app and the engine from the same release.",
        RUNTIME,
    ),
    ErrorSpec(
        "ENGINE_COMMAND_FAILED",
        "An engine command the app ran (inspect-data, list-runs) failed.",
        "See the log for details; check that the engine is installed completely.",
        RUNTIME,
    ),
    ErrorSpec(
        "JOB_INVALID",
        "The worker's job file is missing or malformed.",
        "Start runs from the app or `backprop train`; they write a valid job.json.",
    ),
]

CATALOGUE: dict[str, ErrorSpec] = {spec.code: spec for spec in _SPECS}


class BackpropError(Exception):
    """An error with a stable code, a specific message, a location and a hint.

    Args:
        code: A key of ``CATALOGUE``.
        detail: What exactly was wrong, in this instance (defaults to the catalogue message).
        where: File, line or field the problem is at, e.g. ``data.jsonl:12`` or ``lora.r``.
        hint: What to do, if more specific than the catalogue's hint.
    """

    def __init__(
        self, code: str, detail: str | None = None, *, where: str | None = None,
        hint: str | None = None,
    ) -> None:
        if code not in CATALOGUE:
            raise KeyError(f"error code {code!r} is not in the catalogue")
        spec = CATALOGUE[code]
        self.code = code
        self.detail = detail or spec.message
        self.where = where
        self.hint = hint or spec.hint
        self.category = spec.category
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """The detail prefixed with its location, as shown to users."""
        return f"{self.where}: {self.detail}" if self.where else self.detail

    def to_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.message, "hint": self.hint,
                "where": self.where}

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}\n  hint: {self.hint}"


# Secrets that must never reach a log or an error message unless the user asks (--verbose).
_SECRET_PATTERNS = [
    re.compile(r"\bhf_[A-Za-z0-9]{8,}"),
    re.compile(r"\bsk-[A-Za-z0-9_\-]{8,}"),
    re.compile(r"(?i)\b(password|passwd|token|api[_-]?key|secret)(\s*[=:]\s*)([^\s,;'\"]+)"),
]


def catalogue_markdown() -> str:
    """The catalogue as the Markdown table in ``docs/errors.md``."""
    kinds = {BAD_INPUT: "bad input (exit 1)", RUNTIME: "runtime (exit 2)"}
    rows = [f"| `{s.code}` | {kinds[s.category]} | {s.message} | {s.hint} |" for s in _SPECS]
    return "\n".join(["| code | kind | what it means | what to do |", "| --- | --- | --- | --- |",
                      *rows]) + "\n"


def redact(text: str) -> str:
    """Replaces access tokens, API keys and ``password=...`` values with ``***``."""
    text = _SECRET_PATTERNS[0].sub("hf_***", text)
    text = _SECRET_PATTERNS[1].sub("sk-***", text)
    return _SECRET_PATTERNS[2].sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)
