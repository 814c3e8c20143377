"""The Runs view: every run in the run store, the curves of the selected ones overlaid, and
their settings side by side (only the differences when several are selected).

The list comes from ``engine list-runs --json`` (the engine decides each run's status); the
curves are redrawn from each run's ``events.jsonl``, which the worker appends as it trains,
and the settings read from its ``job.json``.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    QUrl,
    Signal,
)
from PySide6.QtGui import QColor, QDesktopServices, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.engine_process import CommandResult, EngineCommand, default_runs_root
from app.widgets.error_banner import ErrorBanner
from app.widgets.loss_plot import PALETTE, LossPlot
from engine.protocol import LineBuffer, parse_lines

logger = logging.getLogger(__name__)

#: At most this many runs are overlaid; more would be unreadable.
MAX_OVERLAID = len(PALETTE)
#: Statuses from which a run can be continued from its last checkpoint.
RESUMABLE = ("stopped", "failed", "interrupted")
#: How often the curves of a selected run that is still training are brought up to date.
LIVE_REFRESH_MS = 2000

_STATUS_COLORS = {
    "completed": "#2e7d32",
    "running": "#1565c0",
    "stopped": "#6d4c41",
    "failed": "#c62828",
    "interrupted": "#ef6c00",
}


@dataclass
class RunCurves:
    """A run's curves as read back from its ``events.jsonl``."""

    steps: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    eval_steps: list[float] = field(default_factory=list)
    eval_losses: list[float] = field(default_factory=list)
    rates: list[float] = field(default_factory=list)
    status: str | None = None
    # Checkpoint folder name -> the step it holds.
    checkpoints: dict[str, float] = field(default_factory=dict)

    def until(self, last_step: float) -> RunCurves:
        """The curves cut at ``last_step``: what a run resumed from that step starts with."""
        keep = sum(1 for step in self.steps if step <= last_step)
        keep_eval = sum(1 for step in self.eval_steps if step <= last_step)
        return RunCurves(self.steps[:keep], self.losses[:keep], self.eval_steps[:keep_eval],
                         self.eval_losses[:keep_eval], self.rates[:keep], self.status,
                         dict(self.checkpoints))


def run_settings(run_dir: str | Path) -> dict[str, str]:
    """A run's settings and automatic choices from its job.json, flat (``lora.r``) and as text;
    empty when the file is missing or unreadable."""
    try:
        job = json.loads((Path(run_dir) / "job.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    flat: dict[str, str] = {"model": str(job.get("model_path") or ""),
                            "dataset": Path(str(job.get("data", ""))).name}

    def walk(values: dict[str, Any], prefix: str) -> None:
        for key, value in values.items():
            if isinstance(value, dict):
                walk(value, f"{prefix}{key}.")
            else:
                flat[f"{prefix}{key}"] = json.dumps(value) if isinstance(value, list) else str(
                    value)

    walk(job.get("settings") or {}, "")
    choices = dict(job.get("choices") or {})
    choices.pop("reasons", None)
    walk(choices, "chosen.")
    return flat


def read_run_curves(run_dir: str | Path) -> RunCurves:
    """Reads a run's train and eval loss from ``events.jsonl`` (a missing file gives none)."""
    return RunTail(run_dir).read_new(final=True)


class RunTail:
    """Follows a run's ``events.jsonl`` while its worker appends to it: each call reads only
    the bytes written since the last one, and a line cut off mid-write waits for its end."""

    def __init__(self, run_dir: str | Path) -> None:
        self.path = Path(run_dir) / "events.jsonl"
        self._offset = 0
        self._buffer = LineBuffer()

    def read_new(self, final: bool = False) -> RunCurves:
        """The curves written since the last call; ``final`` also takes a last line that has
        no newline (the writer is done)."""
        new = RunCurves()
        try:
            with self.path.open("rb") as handle:
                handle.seek(self._offset)
                data = handle.read()
        except OSError as exc:
            if self._offset == 0:
                logger.warning("cannot read %s: %s", self.path, exc)
            return new
        self._offset += len(data)
        lines = self._buffer.feed(data) + (self._buffer.flush() if final else [])
        events, other = parse_lines(lines)
        if other:
            logger.info("%s: %d lines are not protocol events", self.path, len(other))
        for event in events:
            _add_event(new, event)
        return new


def _add_event(curves: RunCurves, event: dict[str, Any]) -> None:
    kind = event["type"]
    if kind == "step" and event.get("step") is not None:
        loss, rate = event.get("loss"), event.get("lr")
        curves.steps.append(event["step"])
        curves.losses.append(math.nan if loss is None else loss)
        curves.rates.append(math.nan if rate is None else rate)
    elif kind == "eval" and event.get("step") is not None:
        value = event.get("eval_loss")
        curves.eval_steps.append(event["step"])
        curves.eval_losses.append(math.nan if value is None else value)
    elif kind == "checkpoint" and event.get("step") is not None:
        curves.checkpoints[Path(str(event.get("path"))).name] = event["step"]
    elif kind == "finished":
        curves.status = event.get("status")


class RunsTableModel(QAbstractTableModel):
    """The runs listed by the engine, one row each; rows are the engine's dicts."""

    COLUMNS = (
        ("status", "Status"),
        ("created", "Date"),
        ("model", "Model"),
        ("dataset", "Dataset"),
        ("steps", "Steps"),
        ("final_loss", "Final loss"),
        ("run_id", "Run"),
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runs: list[dict[str, Any]] = []

    def set_runs(self, runs: list[dict[str, Any]]) -> None:
        self.beginResetModel()
        self.runs = list(runs)
        self.endResetModel()

    def run_at(self, row: int) -> dict[str, Any]:
        return self.runs[row]

    def rowCount(  # noqa: N802 (Qt override)
        self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()
    ) -> int:
        return 0 if parent.isValid() else len(self.runs)

    def columnCount(  # noqa: N802 (Qt override)
        self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()
    ) -> int:
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(
        self,
        section: int,
        orientation: Qt.Orientation,  # noqa: N802
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section][1]
        return None

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid():
            return None
        run = self.runs[index.row()]
        key = self.COLUMNS[index.column()][0]
        value = run.get(key)
        if role == Qt.ItemDataRole.DisplayRole:
            return _display(key, run)
        if role == Qt.ItemDataRole.UserRole:
            # Sort key: raw values, numbers as numbers.
            return value if isinstance(value, (int, float)) else str(value or "")
        if role == Qt.ItemDataRole.ForegroundRole and key == "status":
            return QColor(_STATUS_COLORS.get(str(value), "#333333"))
        if role == Qt.ItemDataRole.ToolTipRole:
            return (
                f"{run.get('run_dir', '')}\nmodel: {run.get('model')}\n"
                f"dataset: {run.get('dataset')}"
            )
        return None


class RunsTab(QWidget):
    """Lists runs; selecting runs overlays their loss curves."""

    #: The user asked to continue a run from its last checkpoint: the run id.
    sig_resume_requested = Signal(str)
    #: The list was (re)loaded: the number of runs.
    sig_runs_listed = Signal(int)

    def __init__(self, parent: QWidget | None = None, runs_root: Path | None = None) -> None:
        super().__init__(parent)

        # Attributes
        self.runs_root = runs_root
        self.shown_runs: list[str] = []
        self._command: EngineCommand | None = None
        self._refresh_pending = False
        # Selected runs whose worker is still writing: followed on a timer.
        self._live: dict[str, RunTail] = {}
        self._live_timer = QTimer(self)
        self._live_timer.setInterval(LIVE_REFRESH_MS)

        # Widgets
        self.model = RunsTableModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(Qt.ItemDataRole.UserRole)
        self.table = QTableView(self)
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(1, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.refresh_button = QPushButton("Refresh", self)
        self.open_folder_button = QPushButton("Open folder", self)
        self.resume_button = QPushButton("Resume run", self)
        self.resume_button.setToolTip(
            "Continue a stopped or interrupted run from its last checkpoint."
        )
        self.hint_label = QLabel(
            "Select a run to see its curves; select several to compare them (Ctrl+click).", self
        )
        self.hint_label.setStyleSheet("color: #666;")
        self.hint_label.setWordWrap(True)
        self.banner = ErrorBanner(self)
        self.plot = LossPlot("loss", self)
        self.settings_model = QStandardItemModel(self)
        self.settings_view = QTableView(self)
        self.settings_view.setModel(self.settings_model)
        self.settings_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.settings_view.verticalHeader().hide()
        self.settings_view.setAlternatingRowColors(True)
        self.settings_view.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        self.settings_view.horizontalHeader().setStretchLastSection(True)
        self.settings_view.verticalHeader().setDefaultSectionSize(
            self.fontMetrics().height() + 6)
        self.settings_view.setToolTip("One run: its settings and the automatic choices. "
                                      "Several: only what differs between them.")

        # Layout
        buttons = QHBoxLayout()
        buttons.addWidget(self.refresh_button)
        buttons.addWidget(self.open_folder_button)
        buttons.addWidget(self.resume_button)
        buttons.addStretch(1)
        buttons.addWidget(self.hint_label)
        lower = QSplitter(Qt.Orientation.Horizontal, self)
        lower.addWidget(self.plot)
        lower.addWidget(self.settings_view)
        lower.setSizes([800, 360])
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.table)
        splitter.addWidget(lower)
        splitter.setSizes([260, 400])
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.banner)
        layout.addWidget(splitter, 1)

        # Signals
        self.refresh_button.clicked.connect(self.refresh)
        self.open_folder_button.clicked.connect(self._on_open_folder_button_clicked)
        self.resume_button.clicked.connect(self._on_resume_button_clicked)
        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self._live_timer.timeout.connect(self._on_live_timer_timeout)
        self._update_buttons()

    # ---- Public API

    def refresh(self) -> None:
        """Reloads the list from the engine (asynchronously; ``sig_runs_listed`` follows)."""
        if self._command is not None:
            self._refresh_pending = True
            return
        root = self.runs_root or default_runs_root()
        self._command = EngineCommand(["list-runs", "--json", "--output", str(root)], self)
        self._command.sig_command_finished.connect(self._on_list_finished)
        self._command.start()

    def shutdown(self) -> None:
        """Ends a listing still in flight (window closing)."""
        self._live_timer.stop()
        if self._command is not None:
            self._command.abort()
            self._command = None

    def select_runs(self, run_ids: list[str]) -> None:
        """Selects the rows of these runs (which overlays their curves)."""
        selection = self.table.selectionModel()
        selection.clearSelection()
        for row in range(self.model.rowCount()):
            if self.model.run_at(row)["run_id"] in run_ids:
                index = self.proxy.mapFromSource(self.model.index(row, 0))
                selection.select(
                    index, selection.SelectionFlag.Select | selection.SelectionFlag.Rows
                )

    def run_ids(self) -> list[str]:
        return [run["run_id"] for run in self.model.runs]

    # ---- Internals

    def _selected_runs(self) -> list[dict[str, Any]]:
        rows = sorted(
            {self.proxy.mapToSource(i).row() for i in self.table.selectionModel().selectedRows()}
        )
        return [self.model.run_at(row) for row in rows]

    def _on_list_finished(self, result: CommandResult) -> None:
        self._command = None
        if isinstance(result.data, list):
            selected = [run["run_id"] for run in self._selected_runs()]
            self.banner.dismiss()
            self.model.set_runs(result.data)
            self.select_runs(selected)
            self.sig_runs_listed.emit(len(result.data))
        else:
            self.banner.show_error(
                result.error
                or {
                    "code": "ENGINE_COMMAND_FAILED",
                    "message": "The engine listed no runs.",
                    "hint": "See the log for details.",
                }
            )
        if self._refresh_pending:
            self._refresh_pending = False
            self.refresh()

    def _on_selection_changed(self) -> None:
        runs = self._selected_runs()[:MAX_OVERLAID]
        self.plot.clear()
        self.shown_runs = []
        several = len(runs) > 1
        self._live.clear()
        for color, run in zip(PALETTE, runs, strict=False):
            tail = RunTail(run["run_dir"])
            curves = tail.read_new()
            if run.get("status") == "running" and curves.status is None:
                self._live[run["run_id"]] = tail
            label = run["run_id"] if several else "train loss"
            self.plot.add_series(f"{run['run_id']}/train", f"{label}", color)
            self.plot.extend(f"{run['run_id']}/train", curves.steps, curves.losses)
            # A run still training gets its eval curve now, for the points still to come.
            if curves.eval_steps or run["run_id"] in self._live:
                self.plot.add_series(
                    f"{run['run_id']}/eval", f"{label} (eval)", color, dashed=True, markers=True
                )
                self.plot.extend(f"{run['run_id']}/eval", curves.eval_steps, curves.eval_losses)
            self.shown_runs.append(run["run_id"])
        self.plot.redraw()
        self._show_settings(runs)
        self._update_buttons()
        if self._live:
            self._live_timer.start()
        else:
            self._live_timer.stop()

    def _on_live_timer_timeout(self) -> None:
        """Draws what running runs wrote since the last look; a run that finished refreshes
        the list (its status, steps and loss)."""
        finished = False
        for run_id, tail in list(self._live.items()):
            new = tail.read_new()
            if new.steps:
                self.plot.extend(f"{run_id}/train", new.steps, new.losses)
            if new.eval_steps:
                self.plot.extend(f"{run_id}/eval", new.eval_steps, new.eval_losses)
            if new.status is not None:
                del self._live[run_id]
                finished = True
        if finished:
            self.refresh()
        if not self._live:
            self._live_timer.stop()

    def _show_settings(self, runs: list[dict[str, Any]]) -> None:
        """One run: every setting and choice; several: the ones that differ, side by side."""
        self.settings_model.clear()
        if not runs:
            return
        columns = [run_settings(run["run_dir"]) for run in runs]
        keys = sorted(set().union(*columns))
        if len(columns) > 1:
            keys = [k for k in keys if len({c.get(k) for c in columns}) > 1]
        headers = ["setting"] + ([r["run_id"] for r in runs] if len(runs) > 1 else ["value"])
        self.settings_model.setHorizontalHeaderLabels(headers)
        for key in keys:
            self.settings_model.appendRow(
                [QStandardItem(key)] + [QStandardItem(c.get(key, "—")) for c in columns])
        if not keys:
            self.settings_model.appendRow([QStandardItem("(the same settings)")])

    def _update_buttons(self) -> None:
        runs = self._selected_runs()
        self.open_folder_button.setEnabled(len(runs) == 1)
        self.resume_button.setEnabled(len(runs) == 1 and runs[0].get("status") in RESUMABLE)

    def _on_open_folder_button_clicked(self) -> None:
        runs = self._selected_runs()
        if runs:
            QDesktopServices.openUrl(QUrl.fromLocalFile(runs[0]["run_dir"]))

    def _on_resume_button_clicked(self) -> None:
        runs = self._selected_runs()
        if runs:
            self.sig_resume_requested.emit(runs[0]["run_id"])


def _display(key: str, run: dict[str, Any]) -> str:
    value = run.get(key)
    if value is None:
        return "—"
    if key == "created":
        try:
            return datetime.fromisoformat(str(value)).astimezone().strftime("%Y-%m-%d %H:%M")
        except ValueError:
            return str(value)
    if key in ("model", "dataset"):
        text = str(value)
        return Path(text).name if ("/" in text and Path(text).is_absolute()) else text
    if key == "steps":
        total = run.get("total_steps")
        return f"{value} / {total}" if total else str(value)
    if key == "final_loss":
        try:
            return f"{float(value):.4f}"
        except (TypeError, ValueError):
            return str(value)
    return str(value)
