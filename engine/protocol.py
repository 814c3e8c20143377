"""The JSON-lines protocol between the app and the engine worker (stdlib only, versioned).

This is the one module that both processes import. The worker writes one event per line on
stdout; the app writes one command per line on the worker's stdin. ``docs/protocol.md`` is the
human description of the same contract.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

PROTOCOL_VERSION = 1

#: Event types the worker may emit, with the fields each one always carries.
EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    "hello": ("protocol", "engine_version", "torch_version", "device", "pid"),
    "config": ("run_id", "run_dir", "config"),
    "download": ("model", "done", "total"),
    "dataset": ("format", "rows", "train_rows", "eval_rows", "tokens", "trained_tokens"),
    "step": (
        "step",
        "total",
        "loss",
        "lr",
        "grad_norm",
        "tokens_per_s",
        "elapsed",
        "eta",
    ),
    "eval": ("step", "eval_loss"),
    "checkpoint": ("step", "path"),
    "paused": ("step", "reason"),
    "resumed": ("step",),
    "warning": ("code", "message"),
    "error": ("code", "message", "hint"),
    "log": ("level", "message"),
    "finished": ("status", "result"),
}

_REQUIRED = {name: frozenset(fields) for name, fields in EVENT_FIELDS.items()}
_NEVER = frozenset({"\0"})  # a key no event has: unknown types fail the subset test

#: Commands the worker accepts on stdin.
COMMANDS = frozenset({"stop", "pause", "resume", "checkpoint"})

#: Worker exit codes. ``stop`` (save and exit) counts as success.
EXIT_OK = 0
EXIT_BAD_INPUT = 1
EXIT_RUNTIME_FAILURE = 2
EXIT_INTERRUPTED = 130


class ProtocolError(ValueError):
    """A line that is not a valid event or command of this protocol version."""


def make_event(event_type: str, **fields: Any) -> dict[str, Any]:
    """Builds an event dict, checking that the required fields are present.

    Args:
        event_type: One of ``EVENT_FIELDS``.
        **fields: The event's fields; extra fields are allowed and kept.

    Returns:
        The event as a plain dict with ``type`` and ``time`` set.
    """
    required = EVENT_FIELDS.get(event_type)
    if required is None:
        raise ProtocolError(f"unknown event type {event_type!r}")
    missing = [name for name in required if name not in fields]
    if missing:
        raise ProtocolError(f"event {event_type!r} lacks field(s) {', '.join(missing)}")
    return {"type": event_type, "time": round(time.time(), 3), **fields}


def encode(message: dict[str, Any]) -> str:
    """Serialises one event or command as a single line ending in ``\\n``."""
    # allow_nan=False would reject a NaN loss; a diverged run must still be reported,
    # so non-finite floats become null instead.
    return json.dumps(_finite(message), ensure_ascii=False, separators=(",", ":")) + "\n"


def decode_event(line: str | bytes) -> dict[str, Any]:
    """Parses and validates one event line.

    Raises:
        ProtocolError: The line is not JSON, not an object, or not a known event.
    """
    obj = _loads_object(line)
    event_type = obj.get("type")
    if event_type not in EVENT_FIELDS:
        raise ProtocolError(f"unknown event type {event_type!r}")
    missing = [name for name in EVENT_FIELDS[event_type] if name not in obj]
    if missing:
        raise ProtocolError(f"event {event_type!r} lacks field(s) {', '.join(missing)}")
    return obj


def decode_command(line: str | bytes) -> dict[str, Any]:
    """Parses and validates one command line sent to the worker.

    Raises:
        ProtocolError: The line is not a JSON object with a known ``cmd``.
    """
    obj = _loads_object(line)
    cmd = obj.get("cmd")
    if cmd not in COMMANDS:
        known = ", ".join(sorted(COMMANDS))
        raise ProtocolError(f"unknown command {cmd!r}; expected one of: {known}")
    return obj


def command(name: str) -> str:
    """Returns the encoded line for a command, e.g. ``command("stop")``."""
    if name not in COMMANDS:
        raise ProtocolError(f"unknown command {name!r}")
    return encode({"cmd": name})


class LineBuffer:
    """Splits a byte stream into complete lines; a read may end mid-line or mid-character.

    ``feed`` returns the complete lines seen so far, decoded and stripped of ``\\r``. A line
    longer than ``max_line`` bytes without a newline is cut and returned, so a runaway writer
    cannot grow the buffer without bound.
    """

    def __init__(self, max_line: int = 1 << 20) -> None:
        self._buf = b""
        self._max_line = max_line

    def feed(self, data: bytes) -> list[str]:
        buf = self._buf + data
        cut = buf.rfind(b"\n")
        if cut < 0:
            if len(buf) > self._max_line:
                self._buf = b""
                return [buf.decode("utf-8", "replace")]
            self._buf = buf
            return []
        complete, self._buf = buf[:cut], buf[cut + 1 :]
        text = complete.decode("utf-8", "replace")
        return [line.rstrip("\r") for line in text.split("\n") if line.strip()]

    def flush(self) -> list[str]:
        """Returns a last line that had no newline, if any."""
        rest, self._buf = self._buf, b""
        text = rest.decode("utf-8", "replace").strip()
        return [text] if text else []


def parse_lines(lines: Iterable[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """Splits lines into valid events and other text (logs, garbage), keeping order per kind.

    The whole chunk is parsed as one JSON array first, which is several times faster than one
    ``json.loads`` per line; any failure falls back to line-by-line parsing.
    """
    lines = list(lines)
    if not lines:
        return [], []
    try:
        objs = json.loads("[" + ",".join(lines) + "]")
        if len(objs) == len(lines) and all(
            type(o) is dict and _REQUIRED.get(o.get("type"), _NEVER) <= o.keys() for o in objs
        ):
            return objs, []
    except ValueError:
        pass
    events, other = [], []
    for line in lines:
        try:
            events.append(decode_event(line))
        except ProtocolError:
            other.append(line)
    return events, other


def _loads_object(line: str | bytes) -> dict[str, Any]:
    try:
        obj = json.loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ProtocolError("not a JSON object")
    return obj


def _finite(value: Any) -> Any:
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
