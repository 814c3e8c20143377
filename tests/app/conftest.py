"""Fixtures for the app tests: offscreen Qt, throwaway settings and run store, fake NVML."""

from __future__ import annotations

import os

# Before any Qt import: render offscreen unless the caller chose a display (QT_QPA_PLATFORM=xcb).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = REPO_ROOT / "examples" / "quickstart.jsonl"
BUNDLED_MODEL = REPO_ROOT / "resources" / "models" / "tiny-chat"
FAKE_WORKER = Path(__file__).resolve().parent / "fake_worker.py"

if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


@pytest.fixture(autouse=True, scope="session")
def _app_style(qapp):
    """The app's own style (Fusion and style.qss), so widgets have their real sizes."""
    from app.main import apply_style

    apply_style(qapp)


@pytest.fixture
def runs_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private run store; the worker and the CLI see it through BACKPROPAGATE_HOME too."""
    monkeypatch.setenv("BACKPROPAGATE_HOME", str(tmp_path / "home"))
    root = tmp_path / "home" / "runs"
    root.mkdir(parents=True)
    return root


@pytest.fixture
def qsettings(tmp_path: Path):
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def no_gpu_nvml():
    """A fake pynvml on a machine without the NVIDIA driver."""
    from tests.app.fake_nvml import FakeNvml

    return FakeNvml(gpus=None)


@pytest.fixture
def window(qtbot, qsettings, runs_root, no_gpu_nvml):
    """The main window on a private run store, with no GPU, shown offscreen."""
    from app.gpu_monitor import GpuMonitor
    from app.main_window import MainWindow

    win = MainWindow(qsettings, runs_root=runs_root, gpu_monitor=GpuMonitor(no_gpu_nvml))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    engine = win.train_tab.engine
    if engine.is_active():
        with qtbot.waitSignal(engine.sig_run_finished, timeout=30_000, raising=False):
            engine.shutdown()
    win.gauges.stop()


def needs_bundled_model():
    """Skips a test that trains when the bundled model has not been built."""
    return pytest.mark.skipif(
        not (BUNDLED_MODEL / "config.json").is_file(),
        reason=f"the bundled model is missing: {BUNDLED_MODEL} (build it with its script)",
    )
