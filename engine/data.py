"""Datasets in, examples out: load files, detect the format, normalise, render and mask.

Loading and format detection use the standard library only (CSV and Parquet load pandas or
pyarrow lazily), so ``backprop inspect-data`` and the app's drop summary stay fast. Rendering
takes a tokenizer and uses the model's own chat template; labels are masked so only assistant
turns are trained (raw text: every token).
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import BackpropError

logger = logging.getLogger(__name__)

SUPPORTED_EXTENSIONS = (".jsonl", ".json", ".csv", ".parquet", ".txt")
FORMATS = ("sharegpt", "alpaca", "openai", "text")
IGNORE_INDEX = -100

_SHAREGPT_ROLES = {
    "system": "system",
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "bot": "assistant",
    "model": "assistant",
}
_OPENAI_ROLES = {"system", "user", "assistant"}


@dataclass
class Record:
    """One normalised training record and where it came from.

    ``messages`` is a list of ``{"role", "content"}`` dicts for chat formats; ``text`` is set
    for raw text instead.
    """

    where: str
    messages: list[dict[str, str]] | None = None
    text: str | None = None


@dataclass
class Problem:
    """Something wrong with one record, with its location."""

    where: str
    line: int | None
    code: str
    message: str
    hint: str

    def to_dict(self) -> dict[str, Any]:
        return {"where": self.where, "line": self.line, "code": self.code,
                "message": self.message, "hint": self.hint}


@dataclass
class Dataset:
    """A loaded file: its detected format, the good records and the problems found."""

    path: Path
    format: str
    records: list[Record]
    problems: list[Problem] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "format": self.format,
            "rows": len(self.records) + len(self.problems),
            "valid_rows": len(self.records),
            "problems": [p.to_dict() for p in self.problems[:50]],
            "problem_count": len(self.problems),
        }


def load_dataset(path: str | Path, *, strict: bool = True) -> Dataset:
    """Loads a dataset file, detects its format and normalises every record.

    Args:
        path: A .jsonl, .json, .csv, .parquet or .txt file.
        strict: Raise on the first invalid record (the default: nothing is silently dropped).
            With ``strict=False`` invalid records are kept in ``problems`` and skipped.

    Raises:
        BackpropError: ``DATA_NOT_FOUND``, ``DATA_EXTENSION_UNSUPPORTED``, ``DATA_EMPTY``,
            ``DATA_FORMAT_UNKNOWN`` or (strict) ``DATA_LINE_INVALID`` with file and line.
    """
    path = Path(path)
    if not path.is_file():
        raise BackpropError("DATA_NOT_FOUND", f"no such file: {path}", where=str(path))
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_EXTENSIONS:
        raise BackpropError(
            "DATA_EXTENSION_UNSUPPORTED", f"'{suffix or path.name}' files are not supported",
            where=str(path),
        )

    if suffix == ".txt":
        rows, problems = _read_text_file(path), []
        fmt = "text"
    else:
        rows, problems = _READERS[suffix](path)
        if not rows:
            if problems:
                first = problems[0]
                raise BackpropError(first.code, first.message, where=first.where,
                                    hint=first.hint)
            raise BackpropError("DATA_EMPTY", f"{path.name} has no records", where=str(path))
        try:
            fmt = _detect_format([obj for _, _, obj in rows])
        except BackpropError as exc:
            exc.where = exc.where or rows[0][0]
            raise

    records = []
    for where, line, obj in rows:
        try:
            records.append(_normalise(obj, fmt, where))
        except _RecordError as exc:
            message = exc.message.removeprefix(f"{where}: ")
            problems.append(Problem(where, line, exc.code, message, exc.hint))

    problems.sort(key=lambda p: (p.line or 0))
    dataset = Dataset(path, fmt, records, problems)
    if strict and problems:
        first = problems[0]
        more = f" ({len(problems) - 1} more problem(s) in this file)" if len(problems) > 1 else ""
        raise BackpropError(first.code, first.message + more, where=first.where, hint=first.hint)
    if not records:
        raise BackpropError("DATA_EMPTY", f"{path.name} has no usable records", where=str(path))
    return dataset


def inspect_file(path: str | Path) -> dict[str, Any]:
    """Summarises a file for the app and ``backprop inspect-data``; never raises."""
    try:
        dataset = load_dataset(path, strict=False)
    except BackpropError as exc:
        return {"path": str(path), "format": "unknown", "rows": 0, "valid_rows": 0,
                "problems": [], "problem_count": 0, "error": exc.to_dict()}
    return {**dataset.summary(), "error": None}


# --- reading -------------------------------------------------------------------------------


class _RecordError(Exception):
    def __init__(self, code: str, message: str, hint: str) -> None:
        super().__init__(message)
        self.code, self.message, self.hint = code, message, hint


RawRows = list[tuple[str, int | None, Any]]


def _read_jsonl(path: Path) -> tuple[RawRows, list[Problem]]:
    rows, problems = [], []
    with path.open("r", encoding="utf-8-sig", errors="strict", newline="") as handle:
        try:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                where = f"{path.name}:{number}"
                try:
                    rows.append((where, number, json.loads(line)))
                except json.JSONDecodeError as exc:
                    problems.append(Problem(
                        where, number, "DATA_LINE_INVALID",
                        f"not valid JSON ({exc.msg} at column {exc.pos + 1})",
                        "Each line must be one complete JSON object; check quotes, commas "
                        "and that the record is not split over several lines.",
                    ))
        except UnicodeDecodeError as exc:
            raise BackpropError("DATA_LINE_INVALID", f"the file is not UTF-8 text ({exc.reason})",
                                where=str(path), hint="Save the file as UTF-8.") from None
    return rows, problems


def _read_json(path: Path) -> tuple[RawRows, list[Problem]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise BackpropError(
            "DATA_LINE_INVALID", f"not valid JSON ({exc.msg})", where=f"{path.name}:{exc.lineno}",
            hint="A .json file must hold one JSON array of records (or use .jsonl).",
        ) from None
    if isinstance(data, dict):
        # A single object, or a wrapper like {"data": [...]}.
        lists = [v for v in data.values() if isinstance(v, list) and v and isinstance(v[0], dict)]
        data = lists[0] if len(data) == 1 and lists else [data]
    if not isinstance(data, list):
        raise BackpropError("DATA_FORMAT_UNKNOWN", "the JSON file does not hold a list of records",
                            where=str(path))
    return [(f"{path.name}[{i}]", None, obj) for i, obj in enumerate(data)], []


def _read_csv(path: Path) -> tuple[RawRows, list[Problem]]:
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        rows = []
        for obj in reader:
            # The header is line 1; a quoted field may span lines, so use the reader's count.
            line = reader.line_num
            rows.append((f"{path.name}:{line}", line, _parse_json_cells(obj)))
    return rows, []


def _read_parquet(path: Path) -> tuple[RawRows, list[Problem]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise BackpropError("FEATURE_UNAVAILABLE", "reading Parquet needs pyarrow",
                            where=str(path), hint="pip install pyarrow") from None
    table = pq.read_table(path)
    return [(f"{path.name}[row {i}]", None, _plain(obj))
            for i, obj in enumerate(table.to_pylist())], []


def _read_text_file(path: Path) -> RawRows:
    """Plain text: one record per block of lines separated by a blank line."""
    rows: RawRows = []
    block: list[str] = []
    start = 1
    text = path.read_text(encoding="utf-8-sig")
    for number, line in enumerate(text.splitlines() + [""], 1):
        if line.strip():
            if not block:
                start = number
            block.append(line)
        elif block:
            rows.append((f"{path.name}:{start}", start, {"text": "\n".join(block)}))
            block = []
    return rows


_READERS = {".jsonl": _read_jsonl, ".json": _read_json, ".csv": _read_csv,
            ".parquet": _read_parquet}


def _parse_json_cells(obj: dict[str, Any]) -> dict[str, Any]:
    """CSV cells holding JSON lists (conversations, messages) are decoded."""
    out = {}
    for key, value in obj.items():
        if key is None:
            continue
        if isinstance(value, str) and value[:1] in "[{":
            try:
                value = json.loads(value)
            except ValueError:
                pass
        out[key] = value
    return out


def _plain(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        obj = obj.tolist()
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


# --- formats -------------------------------------------------------------------------------


def detect_record_format(obj: Any) -> str | None:
    """Returns the format one record is in, or None if it matches none."""
    if not isinstance(obj, dict):
        return None
    if isinstance(obj.get("conversations"), list):
        return "sharegpt"
    if isinstance(obj.get("messages"), list):
        return "openai"
    if "instruction" in obj and "output" in obj:
        return "alpaca"
    if isinstance(obj.get("text"), str):
        return "text"
    return None


def _detect_format(objs: Sequence[Any]) -> str:
    """The file's format is that of the first records; the rest are checked against it."""
    votes: dict[str, int] = {}
    for obj in objs[:20]:
        fmt = detect_record_format(obj)
        if fmt:
            votes[fmt] = votes.get(fmt, 0) + 1
    if not votes:
        keys = sorted(objs[0].keys()) if objs and isinstance(objs[0], dict) else []
        raise BackpropError(
            "DATA_FORMAT_UNKNOWN",
            f"records have fields {keys} which match no supported format" if keys
            else "records are not JSON objects",
        )
    return max(votes, key=votes.get)


def _normalise(obj: Any, fmt: str, where: str) -> Record:
    if not isinstance(obj, dict):
        raise _RecordError("DATA_LINE_INVALID", f"{where}: a record must be a JSON object",
                           "Write one object per record, e.g. {\"conversations\": [...]}.")
    found = detect_record_format(obj)
    if found != fmt:
        raise _RecordError(
            "DATA_LINE_INVALID",
            f"{where}: record is not in the file's format ({fmt})"
            + (f"; it looks like {found}" if found else f"; fields: {sorted(obj.keys())}"),
            f"Keep one format per file; a {fmt} record needs {_FORMAT_NEEDS[fmt]}.",
        )
    messages = _TO_MESSAGES[fmt](obj, where)
    if messages is None:
        return Record(where, text=obj["text"])
    if not any(m["role"] == "assistant" and m["content"].strip() for m in messages):
        raise _RecordError("DATA_LINE_INVALID", f"{where}: no assistant answer to train on",
                           "Every chat record needs at least one non-empty assistant turn.")
    return Record(where, messages=messages)


_FORMAT_NEEDS = {
    "sharegpt": "\"conversations\": [{\"from\": \"human\", \"value\": ...}, ...]",
    "openai": "\"messages\": [{\"role\": \"user\", \"content\": ...}, ...]",
    "alpaca": "\"instruction\" and \"output\" (\"input\" and \"system\" optional)",
    "text": "\"text\": \"...\"",
}


def _sharegpt(obj: dict[str, Any], where: str) -> list[dict[str, str]]:
    messages = []
    for i, turn in enumerate(obj["conversations"]):
        field_name = f"conversations[{i}]"
        if not isinstance(turn, dict) or "from" not in turn or "value" not in turn:
            raise _RecordError("DATA_LINE_INVALID", f"{where}: {field_name} needs 'from' and "
                               "'value'", 'Each turn is {"from": "human", "value": "..."}.')
        role = _SHAREGPT_ROLES.get(str(turn["from"]).lower())
        if role is None:
            raise _RecordError(
                "DATA_LINE_INVALID", f"{where}: {field_name}.from is {turn['from']!r}",
                "Use 'system', 'human' or 'gpt' (also 'user' and 'assistant').",
            )
        messages.append({"role": role, "content": _text(turn["value"], where, field_name)})
    return _check_turns(messages, where)


def _openai(obj: dict[str, Any], where: str) -> list[dict[str, str]]:
    messages = []
    for i, turn in enumerate(obj["messages"]):
        field_name = f"messages[{i}]"
        if not isinstance(turn, dict) or "role" not in turn or "content" not in turn:
            raise _RecordError("DATA_LINE_INVALID", f"{where}: {field_name} needs 'role' and "
                               "'content'", 'Each message is {"role": "user", "content": ...}.')
        if turn["role"] not in _OPENAI_ROLES:
            raise _RecordError(
                "DATA_LINE_INVALID", f"{where}: {field_name}.role is {turn['role']!r}",
                "Use 'system', 'user' or 'assistant'.",
            )
        content = turn["content"]
        if isinstance(content, list):
            # Content parts: keep the text parts, in order.
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        messages.append({"role": turn["role"], "content": _text(content, where, field_name)})
    return _check_turns(messages, where)


def _alpaca(obj: dict[str, Any], where: str) -> list[dict[str, str]]:
    instruction = _text(obj["instruction"], where, "instruction")
    extra = obj.get("input") or ""
    prompt = f"{instruction}\n\n{_text(extra, where, 'input')}" if extra else instruction
    messages = []
    if obj.get("system"):
        messages.append({"role": "system", "content": _text(obj["system"], where, "system")})
    messages.append({"role": "user", "content": prompt})
    messages.append({"role": "assistant", "content": _text(obj["output"], where, "output")})
    return messages


def _text_record(obj: dict[str, Any], where: str) -> None:
    if not obj["text"].strip():
        raise _RecordError("DATA_LINE_INVALID", f"{where}: 'text' is empty",
                           "Remove empty records.")
    return None


_TO_MESSAGES = {"sharegpt": _sharegpt, "openai": _openai, "alpaca": _alpaca,
                "text": _text_record}


def _text(value: Any, where: str, field_name: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise _RecordError("DATA_LINE_INVALID",
                       f"{where}: {field_name} must be text, got {type(value).__name__}",
                       "Put the turn's text in a JSON string.")


def _check_turns(messages: list[dict[str, str]], where: str) -> list[dict[str, str]]:
    if not messages:
        raise _RecordError("DATA_LINE_INVALID", f"{where}: the conversation is empty",
                           "Add at least a user turn and an assistant turn.")
    for i, message in enumerate(messages):
        if message["role"] == "system" and i != 0:
            raise _RecordError("DATA_LINE_INVALID",
                               f"{where}: a system turn may only come first (turn {i})",
                               "Move the system prompt to the start of the conversation.")
    return messages


# --- rendering -----------------------------------------------------------------------------


@dataclass
class Example:
    """A tokenized record: ids, labels (IGNORE_INDEX where not trained), provenance."""

    input_ids: list[int]
    labels: list[int]
    where: str
    truncated: bool = False

    @property
    def trained_tokens(self) -> int:
        return sum(1 for x in self.labels if x != IGNORE_INDEX)


@dataclass
class RenderReport:
    """What rendering did to the dataset, for the ``dataset`` event and the summary."""

    examples: list[Example]
    dropped: list[str]
    truncated: int
    mask_method: str

    @property
    def tokens(self) -> int:
        return sum(len(e.input_ids) for e in self.examples)

    @property
    def trained_tokens(self) -> int:
        return sum(e.trained_tokens for e in self.examples)


def render_records(records: Iterable[Record], tokenizer: Any, max_length: int) -> RenderReport:
    """Tokenizes records with the model's chat template and masks non-assistant tokens.

    Raises:
        BackpropError: ``MODEL_NO_CHAT_TEMPLATE`` for chat data on a tokenizer without a
            template; ``DATA_NO_TRAINABLE_TOKENS`` if nothing is left to train on.
    """
    examples, dropped, truncated = [], [], 0
    methods: set[str] = set()
    for record in records:
        if record.messages is None:
            ids = _encode_text(tokenizer, record.text or "")
            labels = list(ids)
            method = "text"
        else:
            ids, labels, method = render_chat(tokenizer, record.messages)
        methods.add(method)
        cut = len(ids) > max_length
        if cut:
            ids, labels = ids[:max_length], labels[:max_length]
            truncated += 1
        example = Example(ids, labels, record.where, cut)
        if example.trained_tokens == 0:
            dropped.append(record.where)
            continue
        examples.append(example)
    if not examples:
        raise BackpropError(
            "DATA_NO_TRAINABLE_TOKENS",
            f"all {len(dropped)} record(s) have no trained tokens within "
            f"max_length={max_length}",
            where="data.max_length",
        )
    return RenderReport(examples, dropped, truncated, "+".join(sorted(methods)))


def render_chat(
    tokenizer: Any, messages: list[dict[str, str]]
) -> tuple[list[int], list[int], str]:
    """Renders one conversation; returns ids, labels and how the mask was found.

    Assistant spans are found by rendering growing prefixes of the conversation: the text
    between "history + generation prompt" and "history + this answer" is what the model must
    produce, whatever the template looks like. Templates where prefixes do not nest fall back
    to the template's ``{% generation %}`` marks, then to training every token.
    """
    if not getattr(tokenizer, "chat_template", None):
        raise BackpropError("MODEL_NO_CHAT_TEMPLATE",
                            f"{type(tokenizer).__name__} has no chat template")
    text = tokenizer.apply_chat_template(messages, tokenize=False)
    spans = _assistant_spans(tokenizer, messages, text)
    if spans is not None:
        encoding = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        ids = list(encoding["input_ids"])
        labels = [
            tok if any(s <= start < e for s, e in spans) else IGNORE_INDEX
            for tok, (start, _end) in zip(ids, encoding["offset_mapping"], strict=True)
        ]
        return ids, labels, "prefix"
    try:
        out = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True,
                                            return_assistant_tokens_mask=True)
        ids, mask = list(out["input_ids"]), list(out["assistant_masks"])
        if any(mask):
            labels = [t if m else IGNORE_INDEX for t, m in zip(ids, mask, strict=True)]
            return ids, labels, "generation"
    except Exception:  # noqa: BLE001 - any template failure means: try the next method
        pass
    _warn_once("the chat template's turns could not be located; training on all tokens")
    ids = list(tokenizer(text, add_special_tokens=False)["input_ids"])
    return ids, list(ids), "all"


def _assistant_spans(tokenizer: Any, messages: list[dict[str, str]],
                     text: str) -> list[tuple[int, int]] | None:
    spans = []
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        try:
            before = tokenizer.apply_chat_template(messages[:i], tokenize=False,
                                                   add_generation_prompt=True) if i else ""
            upto = tokenizer.apply_chat_template(messages[: i + 1], tokenize=False)
        except Exception:  # noqa: BLE001 - e.g. templates that insist on a user turn first
            return None
        if not (upto.startswith(before) and text.startswith(upto)):
            return None
        spans.append((len(before), len(upto)))
    return spans


def _encode_text(tokenizer: Any, text: str) -> list[int]:
    ids = list(tokenizer(text, add_special_tokens=True)["input_ids"])
    if tokenizer.eos_token_id is not None and (not ids or ids[-1] != tokenizer.eos_token_id):
        ids.append(tokenizer.eos_token_id)
    return ids


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        logger.warning(message)


def split_eval(n: int, fraction: float, min_rows: int, seed: int) -> tuple[list[int], list[int]]:
    """Seeded train/eval split of ``n`` example indices; no eval split for tiny data."""
    import random

    indices = list(range(n))
    if fraction <= 0 or n < min_rows:
        return indices, []
    random.Random(seed).shuffle(indices)
    n_eval = max(1, int(round(n * fraction)))
    return sorted(indices[n_eval:]), sorted(indices[:n_eval])
