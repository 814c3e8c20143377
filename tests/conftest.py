"""Shared test set-up: offline, and every run and setting kept inside a temporary folder."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Settings from the developer's shell must not leak into tests.
for key in list(os.environ):
    if key.startswith("BACKPROPAGATE_"):
        del os.environ[key]


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("BACKPROPAGATE_HOME", str(home))
    # A .env in the working directory would change settings; run from a clean folder.
    monkeypatch.chdir(home)
    yield home


@pytest.fixture(scope="session")
def bundled_model() -> Path:
    from engine.presets import BUNDLED_MODEL_DIR

    assert (BUNDLED_MODEL_DIR / "config.json").is_file(), "run scripts/build_bundled_model.py"
    return BUNDLED_MODEL_DIR


@pytest.fixture(scope="session")
def quickstart() -> Path:
    return REPO / "examples" / "quickstart.jsonl"


def python_env() -> dict[str, str]:
    """Environment for engine subprocesses: this interpreter, the repo importable."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    return env


PYTHON = sys.executable
