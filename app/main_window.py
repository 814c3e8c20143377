"""The main window: wires the tabs together, takes dropped files, shows the GPU gauges.

Each tab is its own unit; this module only connects their signals, persists the window's
state with ``QSettings``, and guards closing the window during a run.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDragMoveEvent, QDropEvent, QPaintEvent
from PySide6.QtWidgets import QMainWindow, QMessageBox, QTabWidget

from app import APP_NAME, ORGANIZATION
from app.gpu_monitor import GpuMonitor
from app.tabs import export_tab, multirun_tab
from app.tabs.dataset_tab import DatasetTab
from app.tabs.export_tab import ExportTab
from app.tabs.multirun_tab import MultiRunTab
from app.tabs.runs_tab import RunsTab
from app.tabs.train_tab import TrainTab
from app.widgets.gauges import GpuGauges
from app.widgets.loss_plot import LossPlot

logger = logging.getLogger(__name__)

# Answers to "a run is going on; close anyway?"
CLOSE_STOP_AND_SAVE = "stop"
CLOSE_CANCEL_RUN = "cancel"
CLOSE_KEEP_RUNNING = "keep"

STATUS_MESSAGE_MS = 8000


class MainWindow(QMainWindow):
    """Dataset, Train, Multi-Run, Export and Runs tabs over a status bar with GPU gauges.

    Args:
        settings: Where window state persists; None uses the user's Backpropagate settings.
        runs_root: The run store folder; None uses the engine's default.
        gpu_monitor: The telemetry source for the gauges; None reads the real NVML.
    """

    #: Files were dropped on the window: their local paths.
    sig_files_dropped = Signal(object)

    def __init__(
        self,
        settings: QSettings | None = None,
        runs_root: Path | None = None,
        gpu_monitor: GpuMonitor | None = None,
    ) -> None:
        super().__init__()

        # Attributes
        self.settings = settings if settings is not None else QSettings(ORGANIZATION, APP_NAME)
        self._shown_once = False
        self._close_after_run = False
        self._force_close = False  # closing without asking (a second Ctrl+C)

        # Widgets
        self.setWindowTitle(APP_NAME)
        self.setAcceptDrops(True)
        self.tabs = QTabWidget(self)
        self.tabs.setDocumentMode(True)
        self.dataset_tab = DatasetTab(self)
        self.train_tab = TrainTab(self, runs_root=runs_root)
        self.multirun_tab = MultiRunTab(self)
        self.export_tab = ExportTab(self)
        self.runs_tab = RunsTab(self, runs_root=runs_root)
        self.gauges = GpuGauges(gpu_monitor, self)

        # Layout
        self.tabs.addTab(self.dataset_tab, "Dataset")
        self.tabs.addTab(self.train_tab, "Train")
        self.tabs.addTab(self.multirun_tab, "Multi-Run")
        self.tabs.addTab(self.export_tab, "Export")
        self.tabs.addTab(self.runs_tab, "Runs")
        for page, module in ((self.multirun_tab, multirun_tab), (self.export_tab, export_tab)):
            index = self.tabs.indexOf(page)
            available = module.is_available()
            self.tabs.setTabEnabled(index, available)
            self.tabs.setTabToolTip(
                index, module.SUMMARY + ("" if available else "\nNot available yet.")
            )
        self.setCentralWidget(self.tabs)
        self.statusBar().addPermanentWidget(self.gauges)
        self.resize(1280, 800)

        # Signals
        self.sig_files_dropped.connect(self.open_paths)
        self.dataset_tab.sig_dataset_loaded.connect(self._on_dataset_loaded)
        self.dataset_tab.sig_dataset_refused.connect(self._on_dataset_refused)
        self.train_tab.sig_run_started.connect(self._on_run_started)
        self.train_tab.sig_run_finished.connect(self._on_run_finished)
        self.runs_tab.sig_resume_requested.connect(self._on_resume_requested)
        self.tabs.currentChanged.connect(self._on_tabs_current_changed)

        self._restore_state()

    # ---- Public API

    def open_paths(self, paths: list[str]) -> None:
        """Loads dropped or passed files as the dataset; the run in progress is untouched."""
        if not self.train_tab.is_running():
            self.tabs.setCurrentWidget(self.dataset_tab)
        self.dataset_tab.load_paths([str(p) for p in paths])

    # ---- Qt overrides

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt override)
        # Accept any local file: an unsupported one is refused on drop, with a message.
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802 (Qt override)
        if event.mimeData().hasUrls():
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 (Qt override)
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        self.sig_files_dropped.emit(paths)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        super().paintEvent(event)
        if not self._shown_once:
            self._shown_once = True
            # Plots (pyqtgraph), NVML and the run list wait until the window is on screen.
            QTimer.singleShot(0, self._after_first_paint)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        if self.train_tab.is_running() and not self._force_close:
            answer = self.ask_close_during_run()
            if answer == CLOSE_KEEP_RUNNING:
                event.ignore()
                return
            if answer == CLOSE_STOP_AND_SAVE:
                # Close once the worker has saved; the run's finished signal does it.
                self._close_after_run = True
                self.train_tab.engine.stop()
                self.statusBar().showMessage("Stopping the run and saving before closing…")
                event.ignore()
                return
            self.train_tab.engine.cancel()
            self.train_tab.engine.shutdown()

        self._save_state()
        self.gauges.stop()
        self.dataset_tab.shutdown()
        self.runs_tab.shutdown()
        self.train_tab.shutdown()
        self.train_tab.engine.shutdown()
        super().closeEvent(event)

    def quit_from_terminal(self) -> None:
        """Ctrl+C from the terminal: stop and save a run in progress, then close; a second
        Ctrl+C while that save is going on cancels the run and closes now."""
        if not self.train_tab.is_running():
            logger.info("interrupted from the terminal: closing")
            self.close()
            return
        if self._close_after_run:
            logger.warning("interrupted again: cancelling the run and closing now")
            self._close_after_run = False
            self._force_close = True
            self.train_tab.engine.cancel()
            self.train_tab.engine.shutdown()
            self.close()
            return
        logger.info("interrupted from the terminal: stopping the run and saving, then closing "
                    "(Ctrl+C again to cancel without saving)")
        self._close_after_run = True
        self.train_tab.engine.stop()
        self.statusBar().showMessage("Stopping the run and saving before closing…")

    def ask_close_during_run(self) -> str:
        """Asks whether to stop and save, cancel, or keep the run going; returns the answer."""
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("A run is in progress")
        box.setText("Training is still running. Stop it and save before closing?")
        box.setInformativeText(
            "Stop && save finishes the current step and saves the adapter and a checkpoint, "
            "so the run can be resumed. Cancel run closes now without a final save."
        )
        stop = box.addButton("Stop && save", QMessageBox.ButtonRole.AcceptRole)
        cancel = box.addButton("Cancel run", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton("Keep training", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(stop)
        box.exec()
        clicked = box.clickedButton()
        if clicked is stop:
            return CLOSE_STOP_AND_SAVE
        if clicked is cancel:
            return CLOSE_CANCEL_RUN
        return CLOSE_KEEP_RUNNING

    # ---- Persistence

    def _restore_state(self) -> None:
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        self.train_tab.restore_state(self.settings)

        tab = int(self.settings.value("window/tab", 0))
        if 0 <= tab < self.tabs.count() and self.tabs.isTabEnabled(tab):
            self.tabs.setCurrentIndex(tab)

        dataset = self.settings.value("dataset/last")
        if dataset and Path(str(dataset)).is_file():
            self.dataset_tab.load(str(dataset))

    def _save_state(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/tab", self.tabs.currentIndex())
        if self.dataset_tab.path:
            self.settings.setValue("dataset/last", self.dataset_tab.path)
        self.train_tab.save_state(self.settings)
        self.settings.sync()

    # ---- Wiring

    def _after_first_paint(self) -> None:
        logger.info("window ready")
        for plot in self.findChildren(LossPlot):
            plot.ensure_built()
        self.gauges.start()
        if self.tabs.currentWidget() is self.runs_tab:
            self.runs_tab.refresh()

    def _on_tabs_current_changed(self, index: int) -> None:
        if self.tabs.widget(index) is self.runs_tab and self._shown_once:
            self.runs_tab.refresh()

    def _on_dataset_loaded(self, path: str, summary: dict) -> None:
        self.train_tab.set_dataset(path, summary)
        self.settings.setValue("dataset/last", path)
        if self.train_tab.is_running():
            self.statusBar().showMessage(
                f"Loaded {Path(path).name} for the next run; the current run keeps its data.",
                STATUS_MESSAGE_MS,
            )
        else:
            self.statusBar().showMessage(f"Loaded {Path(path).name}.", STATUS_MESSAGE_MS)

    def _on_dataset_refused(self, error: dict) -> None:
        self.statusBar().showMessage(str(error.get("message", "")), STATUS_MESSAGE_MS)

    def _on_run_started(self, job: dict) -> None:
        self.statusBar().showMessage("Run started.", STATUS_MESSAGE_MS)

    def _on_run_finished(self, status: str, run_id: str) -> None:
        text = f"Run {run_id} {status}." if run_id else f"The run {status} before it began."
        self.statusBar().showMessage(text, STATUS_MESSAGE_MS)
        self.runs_tab.refresh()
        if self._close_after_run:
            self._close_after_run = False
            self.close()

    def _on_resume_requested(self, run_id: str) -> None:
        if self.train_tab.is_running():
            self.statusBar().showMessage(
                "A run is in progress; stop it before resuming another.", STATUS_MESSAGE_MS
            )
            return
        self.tabs.setCurrentWidget(self.train_tab)
        self.train_tab.start_run(resume_run=run_id)
