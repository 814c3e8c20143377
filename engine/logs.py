"""Logging for the engine: every line carries the run id, and secrets are redacted.

Logs go to stderr (the worker's stdout is reserved for protocol events) and to the run's
``log.txt``. Tokens and keys are masked unless the user asks for ``--verbose``.
"""

from __future__ import annotations

import logging
import sys
import warnings
from pathlib import Path

from engine.errors import redact

_FORMAT = "%(asctime)s %(levelname)s [%(run_id)s] %(name)s: %(message)s"


class _RunContext(logging.Filter):
    """Stamps the current run id on every record and masks secrets in the message."""

    def __init__(self) -> None:
        super().__init__()
        self.run_id = "-"
        self.redact = True

    def filter(self, record: logging.LogRecord) -> bool:
        record.run_id = self.run_id
        if self.redact:
            message = record.getMessage()
            clean = redact(message)
            if clean != message:
                record.msg, record.args = clean, None
        return True


_context = _RunContext()


def setup_logging(verbose: bool = False, stream=None) -> None:
    """Sends engine and library logs to stderr with run ids; idempotent."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_backprop", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler._backprop = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter(_FORMAT, "%H:%M:%S"))
    handler.addFilter(_context)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    _context.redact = not verbose
    for noisy in ("urllib3", "filelock", "httpx", "httpcore", "fsspec"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if not verbose:
        # Library chatter a user can do nothing about: bitsandbytes failing to fetch an
        # optional CPU kernel from the hub, and deprecation notices between our dependencies.
        logging.getLogger("bitsandbytes").setLevel(logging.ERROR)
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)


def adopt_library_loggers() -> None:
    """Routes transformers' and huggingface_hub's logs through our handlers; idempotent.

    Both libraries attach a stderr handler of their own when first imported, which prints
    every line a second time, without the run id and past the redaction filter (transformers
    also stops propagating unless ``CI`` is set). Call this after they are imported.
    """
    for name in ("transformers", "huggingface_hub"):
        library = logging.getLogger(name)
        for handler in list(library.handlers):
            library.removeHandler(handler)
        library.propagate = True


def set_run(run_id: str, run_dir: Path | None = None) -> None:
    """Tags later log lines with ``run_id`` and copies them into the run's ``log.txt``."""
    _context.run_id = run_id
    if run_dir is not None:
        handler = logging.FileHandler(run_dir / "log.txt", encoding="utf-8")
        handler._backprop = True  # type: ignore[attr-defined]
        handler.setFormatter(logging.Formatter(_FORMAT))
        handler.addFilter(_context)
        logging.getLogger().addHandler(handler)


def redacting() -> bool:
    return _context.redact
