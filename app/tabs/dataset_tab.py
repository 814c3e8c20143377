"""The Dataset tab: pick or drop a file, and see its format, size and first problems.

The summary comes from ``engine inspect-data FILE --json``, run asynchronously in its own
process, so the window never parses a large file on the GUI thread.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.engine_process import CommandResult, EngineCommand
from app.widgets.error_banner import ErrorBanner
from engine.errors import CATALOGUE

logger = logging.getLogger(__name__)

#: File types the engine reads (see ``DATA_EXTENSION_UNSUPPORTED``).
SUPPORTED_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet", ".txt")
#: Problems listed in the table; the summary still counts them all.
MAX_PROBLEMS_SHOWN = 200
PREVIEW_BYTES = 16_384

FORMAT_NAMES = {
    "sharegpt": "ShareGPT (conversations / from / value)",
    "alpaca": "Alpaca (instruction / input / output)",
    "openai": "OpenAI messages (messages / role / content)",
    "text": 'Raw text ({"text": …})',
    "unknown": "Not recognised",
}


def is_supported(path: str | Path) -> bool:
    """Whether the engine can read this file type."""
    return Path(path).suffix.lower() in SUPPORTED_SUFFIXES


class DatasetTab(QWidget):
    """Loads one dataset file and shows the engine's summary of it."""

    #: A dataset was inspected and can be trained on: path, summary dict from the engine.
    sig_dataset_loaded = Signal(str, object)
    #: A file was refused or could not be read: the error dict shown to the user.
    sig_dataset_refused = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)

        # Attributes
        self.path: str | None = None
        self.summary: dict[str, Any] | None = None
        self._command: EngineCommand | None = None

        # Widgets
        self.drop_label = QLabel(
            "<b>Drop a dataset file anywhere on this window</b><br>"
            "JSONL, JSON, CSV, Parquet or plain text: ShareGPT, Alpaca, OpenAI messages or "
            "raw text records.",
            self,
        )
        self.drop_label.setWordWrap(True)
        self.open_button = QPushButton("Open file…", self)
        self.drop_frame = QFrame(self)
        self.drop_frame.setObjectName("dropFrame")
        self.drop_frame.setStyleSheet(
            "#dropFrame { border: 2px dashed #9e9e9e; border-radius: 8px; background: #fafafa; }"
        )
        self.banner = ErrorBanner(self)
        self.status_label = QLabel("No dataset loaded yet.", self)

        self.summary_box = QGroupBox("Summary", self)
        self.file_label = QLabel("—", self)
        self.file_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.file_label.setWordWrap(True)
        self.format_label = QLabel("—", self)
        self.rows_label = QLabel("—", self)
        self.problems_label = QLabel("—", self)

        self.problems_model = QStandardItemModel(0, 3, self)
        self.problems_model.setHorizontalHeaderLabels(["Line", "Code", "Problem"])
        self.problems_view = QTableView(self)
        self.problems_view.setModel(self.problems_model)
        self.problems_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.problems_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.problems_view.verticalHeader().hide()
        header = self.problems_view.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)

        self.preview_edit = QPlainTextEdit(self)
        self.preview_edit.setReadOnly(True)
        self.preview_edit.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.preview_edit.setPlaceholderText("The first records of the file appear here.")

        # Layout
        drop_layout = QHBoxLayout(self.drop_frame)
        drop_layout.setContentsMargins(16, 14, 16, 14)
        drop_layout.addWidget(self.drop_label, 1)
        drop_layout.addWidget(self.open_button)

        form = QFormLayout(self.summary_box)
        form.addRow("File:", self.file_label)
        form.addRow("Format:", self.format_label)
        form.addRow("Records:", self.rows_label)
        form.addRow("Problems:", self.problems_label)

        self.problems_box = QGroupBox("First problems", self)
        QVBoxLayout(self.problems_box).addWidget(self.problems_view)
        self.problems_box.hide()
        preview_box = QGroupBox("First records (raw)", self)
        QVBoxLayout(preview_box).addWidget(self.preview_edit)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.problems_box)
        splitter.addWidget(preview_box)
        splitter.setSizes([200, 260])

        layout = QVBoxLayout(self)
        layout.addWidget(self.drop_frame)
        layout.addWidget(self.banner)
        layout.addWidget(self.status_label)
        layout.addWidget(self.summary_box)
        layout.addWidget(splitter, 1)

        # Signals
        self.open_button.clicked.connect(self._on_open_button_clicked)

    # ---- Public API

    def load_paths(self, paths: list[str]) -> bool:
        """Loads dropped or passed files; refuses several files or an unsupported type."""
        if len(paths) != 1:
            self._refuse(
                {
                    "code": "DATA_ONE_FILE",
                    "message": f"{len(paths)} files were dropped; a run trains on one file.",
                    "hint": "Drop one file, or merge the files into one JSONL file first.",
                }
            )
            return False
        path = paths[0]
        if not is_supported(path):
            spec = CATALOGUE["DATA_EXTENSION_UNSUPPORTED"]
            suffix = Path(path).suffix or "(no extension)"
            self._refuse(
                {
                    "code": spec.code,
                    "message": f"{Path(path).name}: {suffix} files are not supported.",
                    "hint": spec.hint,
                    "where": path,
                }
            )
            return False
        self.load(path)
        return True

    def load(self, path: str) -> None:
        """Inspects ``path`` with the engine; ``sig_dataset_loaded`` follows on success."""
        path = str(Path(path).expanduser().resolve())
        self.shutdown()
        self.banner.dismiss()
        self.status_label.setText(f"Reading {Path(path).name}…")
        self.file_label.setText(path)
        self._show_preview(path)

        self._command = EngineCommand(["inspect-data", path, "--json"], self)
        self._command.sig_command_finished.connect(
            lambda result, path=path: self._on_inspect_finished(path, result)
        )
        self._command.start()

    def shutdown(self) -> None:
        """Ends an inspection still in flight (window closing)."""
        if self._command is not None:
            self._command.abort()
            self._command = None

    def is_busy(self) -> bool:
        """True while a file is being inspected."""
        return self._command is not None

    # ---- Internals

    def _refuse(self, error: dict[str, Any]) -> None:
        logger.info("dataset refused: %s", error["message"])
        self.banner.show_error(error)
        self.sig_dataset_refused.emit(error)

    def _on_open_button_clicked(self) -> None:
        start = str(Path(self.path).parent) if self.path else ""
        patterns = " ".join(f"*{suffix}" for suffix in SUPPORTED_SUFFIXES)
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a dataset", start, f"Datasets ({patterns});;All files (*)"
        )
        if path:
            self.load_paths([path])

    def _on_inspect_finished(self, path: str, result: CommandResult) -> None:
        self._command = None
        summary = result.data if isinstance(result.data, dict) else None
        if summary is None:
            error = result.error or {
                "code": "ENGINE_COMMAND_FAILED",
                "message": f"The engine gave no summary for {Path(path).name}.",
                "hint": "See the log for details.",
            }
            self.status_label.setText("The file could not be read.")
            self._refuse(error)
            return

        self._show_summary(summary)
        error = summary.get("error")
        if error:
            self.status_label.setText("This file cannot be trained on.")
            self._refuse(error)
            return

        self.path = path
        self.summary = summary
        problems = summary.get("problem_count", len(summary.get("problems") or []))
        self.status_label.setText(
            f"Loaded {Path(path).name}." + (" Check the problems below." if problems else "")
        )
        logger.info("dataset loaded: %s (%s, %s records)", path, summary.get("format"),
                    summary.get("rows"))
        self.sig_dataset_loaded.emit(path, summary)

    def _show_summary(self, summary: dict[str, Any]) -> None:
        fmt = summary.get("format") or "unknown"
        self.format_label.setText(FORMAT_NAMES.get(fmt, fmt))
        rows = summary.get("rows")
        valid = summary.get("valid_rows")
        text = "—" if rows is None else f"{rows:,}"
        if rows is not None and valid is not None and valid != rows:
            text += f" ({valid:,} usable)"
        self.rows_label.setText(text)

        problems = summary.get("problems") or []
        count = summary.get("problem_count", len(problems))
        self.problems_label.setText(
            "none found" if not count else f"{count:,} (the first ones are listed below)"
        )
        self.problems_model.removeRows(0, self.problems_model.rowCount())
        for problem in problems[:MAX_PROBLEMS_SHOWN]:
            line = QStandardItem(str(problem.get("line", "")))
            code = QStandardItem(str(problem.get("code", "")))
            message = QStandardItem(str(problem.get("message", "")))
            hint = problem.get("hint") or ""
            for item in (line, code, message):
                item.setToolTip(hint)
            self.problems_model.appendRow([line, code, message])
        self.problems_box.setVisible(bool(problems))

    def _show_preview(self, path: str) -> None:
        if Path(path).suffix.lower() == ".parquet":
            self.preview_edit.setPlainText("(Parquet is a binary format; see the summary.)")
            return
        try:
            with open(path, "rb") as handle:
                head = handle.read(PREVIEW_BYTES)
        except OSError as exc:
            self.preview_edit.setPlainText(f"(cannot read the file: {exc})")
            return
        text = head.decode("utf-8", "replace")
        if len(head) == PREVIEW_BYTES:
            text = text.rsplit("\n", 1)[0] + "\n…"
        self.preview_edit.setPlainText(text)
