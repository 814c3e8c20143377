"""The JSON-lines contract: events, commands, line splitting, and the import wall."""

from __future__ import annotations

import json
import math
import re
import subprocess

import pytest

from engine import protocol
from tests.conftest import PYTHON, REPO, python_env


def test_event_round_trip_and_required_fields():
    event = protocol.make_event("step", step=3, total=10, loss=1.5, lr=1e-4, grad_norm=0.3,
                                tokens_per_s=900.0, elapsed=2.0, eta=5.0)
    line = protocol.encode(event)
    assert line.endswith("\n") and line.count("\n") == 1
    assert protocol.decode_event(line)["loss"] == 1.5
    with pytest.raises(protocol.ProtocolError, match="lacks field"):
        protocol.make_event("step", step=1)
    with pytest.raises(protocol.ProtocolError, match="unknown event"):
        protocol.decode_event('{"type": "bogus"}')


def test_non_finite_numbers_become_null():
    line = protocol.encode(protocol.make_event("eval", step=1, eval_loss=math.nan))
    assert json.loads(line)["eval_loss"] is None  # strict JSON, no NaN literal


def test_commands():
    assert protocol.decode_command(protocol.command("pause")) == {"cmd": "pause"}
    for bad in ("garbage", "[1, 2]", '{"cmd": "explode"}', '{"nocmd": 1}'):
        with pytest.raises(protocol.ProtocolError):
            protocol.decode_command(bad)


def test_line_buffer_handles_partial_lines_and_split_characters():
    buf = protocol.LineBuffer()
    data = ('{"a": "é"}\r\n' + '{"b": 2}\n' + '{"c"').encode()
    lines = []
    for i in range(len(data)):  # one byte at a time: splits the two-byte é as well
        lines += buf.feed(data[i:i + 1])
    assert lines == ['{"a": "é"}', '{"b": 2}']
    assert buf.feed(b': 3}') == []
    assert buf.flush() == ['{"c": 3}']


def test_line_buffer_caps_runaway_lines():
    buf = protocol.LineBuffer(max_line=10)
    assert buf.feed(b"x" * 20) == ["x" * 20]
    assert buf.feed(b"ok\n") == ["ok"]


def test_parse_lines_separates_events_from_noise():
    good = protocol.encode(protocol.make_event("resumed", step=2)).strip()
    events, other = protocol.parse_lines([good, "Traceback (most recent call last):", good])
    assert [e["type"] for e in events] == ["resumed", "resumed"]
    assert other == ["Traceback (most recent call last):"]
    events, other = protocol.parse_lines([good, good])  # the fast path
    assert len(events) == 2 and other == []


def test_shared_modules_do_not_import_the_ml_stack():
    code = ("import sys, engine, engine.protocol, engine.presets, engine.config, engine.errors,"
            " engine.memory,"
            " engine.runs, engine.data, engine.cli; "
            "heavy = [m for m in ('torch', 'transformers', 'peft', 'trl', 'datasets', 'PySide6')"
            " if m in sys.modules]; print(heavy)")
    out = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, cwd=REPO,
                         env=python_env(), check=True)
    assert out.stdout.strip() == "[]"


def test_engine_never_imports_qt():
    pattern = re.compile(r"^\s*(import|from)\s+(PySide6|pyqtgraph)\b", re.M)
    offenders = [p for p in (REPO / "engine").rglob("*.py") if pattern.search(p.read_text())]
    assert offenders == []
