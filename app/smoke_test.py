"""``--smoke-test``: the whole app end to end, offscreen, in well under a minute on a CPU.

It opens the window, loads a dataset, trains the bundled model for a few steps through the real
worker, checks that the loss curve received points, and saves a screenshot. Runs and settings
go to a temporary folder, so a smoke test leaves nothing in the user's run store.
"""

from __future__ import annotations

import logging
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, QTimer
from PySide6.QtWidgets import QApplication

from app.main_window import MainWindow
from engine.presets import BUNDLED

logger = logging.getLogger(__name__)

DEFAULT_DATA = Path(__file__).resolve().parent.parent / "examples" / "quickstart.jsonl"
TIMEOUT_MS = 10 * 60 * 1000


class SmokeTest(QObject):
    """Drives the window through load → train → screenshot and records the outcome.

    Args:
        screenshot: Where to save the PNG of the window after the run.
        data: The dataset to train on (default ``examples/quickstart.jsonl``).
        steps: How many optimizer steps to train.
        model: The model setting to train (default: the bundled model).
    """

    def __init__(
        self, screenshot: str, data: str | None = None, steps: int = 3, model: str = BUNDLED
    ) -> None:
        super().__init__()

        # Attributes
        self.screenshot = Path(screenshot)
        self.data = Path(data) if data else DEFAULT_DATA
        self.steps = steps
        self.model = model
        self.exit_code = 1
        self.reason = "did not finish"
        self._done = False
        self._tmp = tempfile.TemporaryDirectory(prefix="backprop-smoke-")
        self._app: QApplication | None = None
        self._watchdog = QTimer(self)
        self._watchdog.setSingleShot(True)

        # The window, on throwaway settings and runs folder
        root = Path(self._tmp.name)
        settings = QSettings(str(root / "settings.ini"), QSettings.Format.IniFormat)
        self.window = MainWindow(settings, runs_root=root / "runs")

        # Signals
        self._watchdog.timeout.connect(lambda: self._finish(1, "timed out"))
        self.window.dataset_tab.sig_dataset_loaded.connect(self._on_dataset_loaded)
        self.window.dataset_tab.sig_dataset_refused.connect(
            lambda error: self._finish(1, f"dataset refused: {error.get('message')}")
        )
        self.window.train_tab.sig_run_finished.connect(self._on_run_finished)

    def run(self, app: QApplication) -> int:
        """Runs the event loop until the smoke test ends; returns the exit code."""
        self._app = app
        self.window.resize(1280, 800)
        self.window.show()
        self._watchdog.start(TIMEOUT_MS)
        QTimer.singleShot(0, lambda: self.window.open_paths([str(self.data)]))
        app.exec()

        self.window.train_tab.engine.shutdown()
        self.window.close()
        self._tmp.cleanup()
        stream = sys.stdout if self.exit_code == 0 else sys.stderr
        stream.write(
            f"smoke test {'passed' if self.exit_code == 0 else 'FAILED'}: {self.reason}\n"
        )
        return self.exit_code

    def _on_dataset_loaded(self, path: str, summary: dict) -> None:
        train = self.window.train_tab
        train.set_model(self.model)
        train.steps_spin.setValue(self.steps)
        self.window.tabs.setCurrentWidget(train)
        if not train.start_run():
            self._finish(1, "the Train tab refused to start a run")

    def _on_run_finished(self, status: str, run_id: str) -> None:
        train = self.window.train_tab
        if status != "completed":
            error = train.banner.details() or "no error shown"
            self._finish(1, f"run ended {status}: {error}")
            return
        train.loss_plot.redraw()
        points = train.loss_plot.drawn_count("train")
        if points == 0:
            self._finish(1, "the loss curve received no points")
            return
        if train.progress_bar.value() != train.progress_bar.maximum():
            self._finish(1, "the progress bar did not reach 100%")
            return

        self.screenshot.parent.mkdir(parents=True, exist_ok=True)
        if not self.window.grab().save(str(self.screenshot)):
            self._finish(1, f"could not save the screenshot to {self.screenshot}")
            return
        self._finish(
            0, f"run {run_id}: {points} points on the loss curve, screenshot {self.screenshot}"
        )

    def _finish(self, code: int, reason: str) -> None:
        if self._app is None or self._done:
            return
        self._done = True
        self.exit_code, self.reason = code, reason
        logger.log(logging.INFO if code == 0 else logging.ERROR, "smoke test: %s", reason)
        self._watchdog.stop()
        self._app.quit()
