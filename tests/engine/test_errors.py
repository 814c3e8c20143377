"""The error catalogue: every code used exists, is documented, and secrets are masked."""

from __future__ import annotations

import re

from engine.errors import CATALOGUE, BackpropError, redact
from tests.conftest import REPO


def test_every_code_used_in_the_engine_is_in_the_catalogue():
    pattern = re.compile(r"""(?:BackpropError\(|code=)\s*["']([A-Z_]+)["']""")
    used = set()
    for path in (REPO / "engine").rglob("*.py"):
        used |= set(pattern.findall(path.read_text()))
    assert used and used <= set(CATALOGUE), used - set(CATALOGUE)


def test_every_code_the_app_raises_is_in_the_catalogue():
    not_codes = {"BACKPROPAGATE_ENGINE_PYTHON", "BACKPROPAGATE_HOME", "QT_QPA_PLATFORM"}
    used = set()
    for path in (REPO / "app").rglob("*.py"):
        used |= set(re.findall(r'"([A-Z]+(?:_[A-Z]+)+)"', path.read_text())) - not_codes
    assert used and used <= set(CATALOGUE), used - set(CATALOGUE)


def test_docs_match_the_catalogue():
    import importlib.util

    spec = importlib.util.spec_from_file_location("w", REPO / "scripts" / "write_error_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (REPO / "docs" / "errors.md").read_text() == module.render(), (
        "run python scripts/write_error_docs.py")


def test_error_text_has_code_location_and_hint():
    exc = BackpropError("DATA_LINE_INVALID", "bad turn", where="d.jsonl:4")
    assert str(exc).startswith("[DATA_LINE_INVALID] d.jsonl:4: bad turn")
    assert exc.to_dict()["hint"] == CATALOGUE["DATA_LINE_INVALID"].hint


def test_redaction():
    text = "token=abc123 hf_ABCDEFGHIJKLMN sk-proj-abcdefghijkl password: hunter2 ok"
    clean = redact(text)
    for secret in ("abc123", "ABCDEFGHIJ", "abcdefghijkl", "hunter2"):
        assert secret not in clean
    assert clean.endswith("ok")
