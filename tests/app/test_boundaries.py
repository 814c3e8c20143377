"""The app's boundaries: no ML stack in the GUI process, and a PySide6 build that is safe here."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from PySide6.QtWidgets import QLabel

from tests.app.conftest import REPO_ROOT

HEAVY = ("torch", "transformers", "peft", "trl", "datasets", "accelerate", "bitsandbytes")
#: The engine modules the app may import: stdlib-only, shared with the worker.
ENGINE_MODULES_ALLOWED = {"engine.protocol", "engine.presets", "engine.config", "engine.errors"}


def test_the_gui_process_never_imports_the_ml_stack():
    code = (
        "import sys\n"
        "import app.main, app.main_window, app.smoke_test\n"
        "from PySide6.QtWidgets import QApplication\n"
        "qapp = QApplication([])\n"
        "from app.main_window import MainWindow\n"
        "w = MainWindow()\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))\n"
    )
    env = {"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin", "HOME": str(Path.home())}
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_the_app_imports_only_the_shared_engine_modules():
    found = set()
    for path in (REPO_ROOT / "app").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                root = name.split(".")[0]
                assert root not in HEAVY, f"{path}: imports {name}"
                if root == "engine":
                    found.add((path.name, name))
    assert {name for _, name in found} <= ENGINE_MODULES_ALLOWED, found


def test_pyside6_does_not_leak_none_references(qtbot):
    # PySide6 6.12.0 on CPython 3.11 drops a reference to None on every void call and aborts
    # the interpreter after ~5k calls; 6.11.3 is clean. On 3.12+ None is immortal.
    label = QLabel()
    qtbot.addWidget(label)
    before = sys.getrefcount(None)
    for _ in range(1000):
        label.setText("x")
    assert abs(sys.getrefcount(None) - before) < 50
