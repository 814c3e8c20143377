"""The Train tab: choose a model and settings, run the engine worker, watch it learn.

Settings widgets take their defaults and tooltips from ``engine.config.Settings``; a job sends
only the values the user changed, so ``BACKPROPAGATE_*`` variables still apply underneath.
Live numbers arrive as protocol events from ``EngineProcess`` and are drawn at most 20 times a
second.
"""

from __future__ import annotations

import dataclasses
import html
import json
import logging
import math
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.engine_process import (
    IDLE,
    PAUSED,
    RUNNING,
    STARTING,
    STOPPING,
    CommandResult,
    EngineCommand,
    EngineProcess,
    default_runs_root,
)
from app.tabs.runs_tab import read_run_curves
from app.widgets.error_banner import ErrorBanner
from app.widgets.loss_plot import PALETTE, LossPlot
from engine.config import Settings
from engine.presets import PRESETS

logger = logging.getLogger(__name__)

JOB_VERSION = 1
LOG_MAX_LINES = 5000
#: Labels and the progress bar are refreshed at most this often while events stream in.
UI_REFRESH_MS = 100
#: The plan is worked out again this long after the last change to the model or a setting.
PLAN_DELAY_MS = 600
PLAN_FIRST_DELAY_MS = 1500

_STATE_TEXT = {
    IDLE: "Ready",
    STARTING: "Starting the engine and loading the model…",
    RUNNING: "Training",
    PAUSED: "Paused",
    STOPPING: "Stopping: finishing the step and saving…",
}


def setting_field(dotted: str) -> dataclasses.Field:
    """The dataclass field behind a dotted setting name such as ``lora.r``."""
    cls: type = Settings
    parts = dotted.split(".")
    for depth, part in enumerate(parts):
        field = next(f for f in dataclasses.fields(cls) if f.name == part)
        if depth < len(parts) - 1:
            cls = type(field.default_factory())
    return field


def setting_default(dotted: str) -> Any:
    field = setting_field(dotted)
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return field.default


def setting_help(dotted: str) -> str:
    return str(setting_field(dotted).metadata.get("help", ""))


class _ScientificSpinBox(QDoubleSpinBox):
    """A spin box for learning rates: shows ``2e-04`` and steps by a factor, not by 0.01."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDecimals(10)
        self.setRange(1e-8, 0.99)

    def textFromValue(self, value: float) -> str:  # noqa: N802 (Qt override)
        return f"{value:.2g}" if value >= 1e-3 else f"{value:.1e}"

    def valueFromText(self, text: str) -> float:  # noqa: N802 (Qt override)
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int) -> object:
        from PySide6.QtGui import QValidator

        try:
            float(text)
        except ValueError:
            return QValidator.State.Intermediate, text, pos
        return QValidator.State.Acceptable, text, pos

    def stepBy(self, steps: int) -> None:  # noqa: N802 (Qt override)
        self.setValue(self.value() * (2.0**steps))


class TrainTab(QWidget):
    """Model and settings on the left; the live run (curves, numbers, log) on the right."""

    #: A run was started: the job dict sent to the worker.
    sig_run_started = Signal(object)
    #: A run ended: status (completed, stopped, failed, cancelled) and its run id ("" if none).
    sig_run_finished = Signal(str, str)
    #: The engine worked out what the current settings would choose here (``backprop plan``).
    sig_plan_changed = Signal(object)

    def __init__(self, parent: QWidget | None = None, runs_root: Path | None = None) -> None:
        super().__init__(parent)

        # Attributes
        self.runs_root = runs_root
        self.dataset_path: str | None = None
        self.dataset_problems = 0  # invalid records the Dataset tab found in it
        self.plan: dict[str, Any] | None = None  # what the engine would choose, for the panel
        self._plan_command: EngineCommand | None = None
        self._plan_timer = QTimer(self)
        self._plan_timer.setSingleShot(True)
        self._plan_timer.setInterval(PLAN_DELAY_MS)
        self.run_id: str | None = None
        self.last_step: dict[str, Any] | None = None
        self.last_eval: float | None = None
        self.last_status: str | None = None
        self._setting_widgets: dict[str, QWidget] = {}
        self.engine = EngineProcess(self)
        self._ui_timer = QTimer(self)
        self._ui_timer.setSingleShot(True)
        self._ui_timer.setInterval(UI_REFRESH_MS)

        # Widgets: model and dataset
        self.model_combo = QComboBox(self)
        self.model_combo.setEditable(True)
        self.model_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.model_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.model_combo.setMinimumContentsLength(18)
        self.model_combo.addItem("Automatic (best for this machine)", None)
        for preset in PRESETS:
            self.model_combo.addItem(preset.label, preset.key)
            self.model_combo.setItemData(
                self.model_combo.count() - 1,
                f"{preset.model_id}\n{preset.note}\nLicense: {preset.license}\n"
                f"Trains on a GPU of ~{preset.vram_gb_lora16:g} GB (16-bit) or "
                f"~{preset.vram_gb_qlora:g} GB (4-bit) at the default settings",
                Qt.ItemDataRole.ToolTipRole,
            )
        self.model_combo.setToolTip(
            setting_help("model") + "\nType a Hugging Face id (org/name) or a folder path."
        )
        self.model_folder_button = QToolButton(self)
        self.model_folder_button.setText("Folder…")
        self.model_folder_button.setToolTip("Use a model saved in a local folder.")
        self.model_note_label = QLabel(self)
        self.model_note_label.setWordWrap(True)
        self.model_note_label.setStyleSheet("color: #555;")
        self.dataset_label = QLabel("No dataset: drop a file on the window.", self)
        self.dataset_label.setWordWrap(True)
        self.dataset_warning_label = QLabel(self)
        self.dataset_warning_label.setWordWrap(True)
        self.dataset_warning_label.setStyleSheet("color: #a15c00;")
        self.dataset_warning_label.hide()

        # Widgets: settings, each with its default and help from engine.config
        self.steps_spin = self._int_setting("steps", 0, 1_000_000, special="auto (3 epochs)")
        self.lr_spin = _ScientificSpinBox(self)
        self._register("learning_rate", self.lr_spin)
        self.lora_r_spin = self._int_setting("lora.r", 1, 1024)
        self.lora_alpha_spin = self._int_setting("lora.alpha", 1, 4096)
        self.batch_spin = self._int_setting("batch_size", 0, 4096, special="auto")
        self.max_length_spin = self._int_setting("data.max_length", 16, 262_144)
        self.max_length_spin.setSingleStep(256)
        self.checkpoint_spin = self._int_setting(
            "checkpoint_every", 0, 1_000_000, special="only at the end"
        )
        self.eval_every_spin = self._int_setting(
            "eval_every", 0, 1_000_000, special="only at the end"
        )
        self.grad_accum_spin = self._int_setting("grad_accum", 1, 1024)
        self.scheduler_combo = self._choice_setting(
            "lr_scheduler", ["cosine", "linear", "constant"]
        )
        self.precision_combo = self._choice_setting("precision", ["auto", "fp32", "bf16", "fp16"])
        self.seed_spin = self._int_setting("seed", 0, 2**31 - 1)
        self.skip_invalid_check = QCheckBox("skip them", self)
        self._register("data.skip_invalid", self.skip_invalid_check)
        self.reset_button = QPushButton("Reset to defaults", self)
        self.plan_label = QLabel("Working out what suits this machine…", self)
        self.plan_label.setWordWrap(True)
        self.plan_label.setTextFormat(Qt.TextFormat.RichText)

        # Widgets: run controls
        self.start_button = QPushButton("Start", self)
        self.start_button.setObjectName("primaryButton")
        self.pause_button = QPushButton("Pause", self)
        self.resume_button = QPushButton("Resume", self)
        self.stop_button = QPushButton("Stop && save", self)
        self.stop_button.setToolTip("Finish the current step, save the adapter and a checkpoint.")
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setToolTip("End the run now without a final save.")

        # Widgets: live view
        self.banner = ErrorBanner(self)
        self.state_label = QLabel(_STATE_TEXT[IDLE], self)
        self.state_label.setStyleSheet("font-weight: bold;")
        self.state_label.setWordWrap(True)
        self.state_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.progress_bar = QProgressBar(self)
        self.progress_bar.setRange(0, 100)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("%p%")
        self.step_value = QLabel("—", self)
        self.loss_value = QLabel("—", self)
        self.eval_value = QLabel("—", self)
        self.lr_value = QLabel("—", self)
        self.speed_value = QLabel("—", self)
        self.eta_value = QLabel("—", self)
        self.smoothing_spin = QSpinBox(self)
        self.smoothing_spin.setRange(1, 1000)
        self.smoothing_spin.setSpecialValueText("off")
        self.smoothing_spin.setSuffix(" steps")
        self.smoothing_spin.setToolTip("Draw a moving average of the training loss.")
        self.loss_plot = LossPlot("loss", self)
        self.loss_plot.add_series("train", "train loss", PALETTE[0], smoothable=True)
        self.loss_plot.add_series("eval", "eval loss", PALETTE[1], markers=True)
        self.lr_plot = LossPlot("LR", self)
        self.lr_plot.set_axis_options(legend=False, si_prefix=False, x_label="")
        self.lr_plot.add_series("lr", "learning rate", PALETTE[2])
        self.log_edit = QPlainTextEdit(self)
        self.log_edit.setReadOnly(True)
        self.log_edit.setMaximumBlockCount(LOG_MAX_LINES)
        self.log_edit.setPlaceholderText("The engine's log appears here during a run.")
        self.log_edit.setStyleSheet("font-family: monospace; font-size: 9pt;")

        # Layout: left column
        model_box = QGroupBox("Model", self)
        # The combo gets the whole width: preset names are long and the column is narrow.
        note_row = QHBoxLayout()
        note_row.addWidget(self.model_note_label, 1)
        note_row.addWidget(self.model_folder_button, 0, Qt.AlignmentFlag.AlignTop)
        model_layout = QVBoxLayout(model_box)
        model_layout.addWidget(self.model_combo)
        model_layout.addLayout(note_row)

        data_box = QGroupBox("Dataset", self)
        data_layout = QVBoxLayout(data_box)
        data_layout.addWidget(self.dataset_label)
        data_layout.addWidget(self.dataset_warning_label)

        settings_box = QGroupBox("Settings", self)
        form = QFormLayout(settings_box)
        form.addRow("Steps:", self.steps_spin)
        form.addRow("Learning rate:", self.lr_spin)
        form.addRow("LoRA rank (r):", self.lora_r_spin)
        form.addRow("LoRA alpha:", self.lora_alpha_spin)
        form.addRow("Batch size:", self.batch_spin)
        form.addRow("Max length (tokens):", self.max_length_spin)
        form.addRow("Checkpoint every:", self.checkpoint_spin)
        form.addRow("Eval every:", self.eval_every_spin)
        form.addRow("Gradient accumulation:", self.grad_accum_spin)
        form.addRow("LR schedule:", self.scheduler_combo)
        form.addRow("Precision:", self.precision_combo)
        form.addRow("Seed:", self.seed_spin)
        form.addRow("Invalid records:", self.skip_invalid_check)
        form.addRow("", self.reset_button)

        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(model_box)
        left_layout.addWidget(data_box)
        left_layout.addWidget(settings_box)
        left_layout.addStretch(1)
        scroll = QScrollArea(self)
        scroll.setWidget(left)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # Wide enough for the settings and a vertical scroll bar, which on a short screen
        # would otherwise cover the spin boxes' arrows.
        scroll.setMinimumWidth(max(300, left.minimumSizeHint().width()
                                   + scroll.verticalScrollBar().sizeHint().width()))
        scroll.setMaximumWidth(420)

        # Layout: right column
        buttons = QHBoxLayout()
        for button in (
            self.start_button,
            self.pause_button,
            self.resume_button,
            self.stop_button,
            self.cancel_button,
        ):
            buttons.addWidget(button)
        buttons.addWidget(self.state_label, 1)

        stats = QGridLayout()
        for column, (name, value) in enumerate(
            [
                ("Step", self.step_value),
                ("Loss", self.loss_value),
                ("Eval loss", self.eval_value),
                ("Learning rate", self.lr_value),
                ("Tokens/s", self.speed_value),
                ("Time left", self.eta_value),
            ]
        ):
            caption = QLabel(name, self)
            caption.setStyleSheet("color: #666; font-size: 8pt;")
            value.setStyleSheet("font-size: 11pt;")
            stats.addWidget(caption, 0, column)
            stats.addWidget(value, 1, column)

        smoothing_row = QHBoxLayout()
        smoothing_row.addStretch(1)
        smoothing_row.addWidget(QLabel("Smoothing:", self))
        smoothing_row.addWidget(self.smoothing_spin)

        plots = QSplitter(Qt.Orientation.Vertical, self)
        plots.addWidget(self.loss_plot)
        plots.addWidget(self.lr_plot)
        plots.addWidget(self.log_edit)
        plots.setSizes([380, 120, 150])

        right = QVBoxLayout()
        right.addLayout(buttons)
        right.addWidget(self.plan_label)
        right.addWidget(self.banner)
        right.addWidget(self.progress_bar)
        right.addLayout(stats)
        right.addLayout(smoothing_row)
        right.addWidget(plots, 1)

        layout = QHBoxLayout(self)
        layout.addWidget(scroll)
        layout.addLayout(right, 1)

        # Signals
        self.model_combo.currentIndexChanged.connect(self._on_model_combo_changed)
        self.model_combo.editTextChanged.connect(self._on_model_combo_changed)
        self.model_folder_button.clicked.connect(self._on_model_folder_button_clicked)
        self.reset_button.clicked.connect(self.reset_settings)
        self.start_button.clicked.connect(lambda: self.start_run())
        # Lambdas: ``clicked`` passes ``checked``, which must not land in a keyword argument.
        self.pause_button.clicked.connect(lambda: self.engine.pause())
        self.resume_button.clicked.connect(lambda: self.engine.resume())
        self.stop_button.clicked.connect(lambda: self.engine.stop())
        self.cancel_button.clicked.connect(lambda: self.engine.cancel())
        self.smoothing_spin.valueChanged.connect(self.loss_plot.set_smoothing)
        self.skip_invalid_check.toggled.connect(self._update_dataset_warning)
        self._plan_timer.timeout.connect(self._refresh_plan)
        self.model_combo.currentTextChanged.connect(self._plan_timer.start)
        for widget in self._setting_widgets.values():
            for name in ("valueChanged", "currentTextChanged", "toggled"):
                signal = getattr(widget, name, None)
                if signal is not None:
                    signal.connect(self._plan_timer.start)
                    break
        self.engine.sig_events_received.connect(self._on_engine_events)
        self.engine.sig_log_received.connect(self._on_engine_log)
        self.engine.sig_error_occurred.connect(self._on_engine_error)
        self.engine.sig_state_changed.connect(self._on_engine_state_changed)
        self.engine.sig_run_finished.connect(self._on_engine_run_finished)
        self._ui_timer.timeout.connect(self._refresh_numbers)

        self.reset_settings()
        self._on_model_combo_changed()
        self._update_buttons()
        # The first plan waits for start-up to settle: it runs a Python that imports torch.
        self._plan_timer.start(PLAN_FIRST_DELAY_MS)

    # ---- Public API

    def is_running(self) -> bool:
        return self.engine.is_active()

    def set_dataset(self, path: str, summary: dict[str, Any] | None = None) -> None:
        """Uses this file for the next run (a run in progress keeps its own data)."""
        self.dataset_path = path
        self.dataset_problems = int((summary or {}).get("problem_count") or 0)
        text = Path(path).name
        if summary:
            text += f" · {summary.get('format', '?')} · {summary.get('rows', '?')} records"
        self.dataset_label.setText(text)
        self.dataset_label.setToolTip(path)
        self._update_dataset_warning()
        self._update_buttons()

    def model_value(self) -> str | None:
        """The model setting: a preset key, a folder, a Hugging Face id, or None (automatic)."""
        text = self.model_combo.currentText().strip()
        index = self.model_combo.findText(text)
        if index >= 0:
            return self.model_combo.itemData(index)
        return text or None

    def set_model(self, value: str | None) -> None:
        index = self.model_combo.findData(value) if value else 0
        if index >= 0:
            self.model_combo.setCurrentIndex(index)
        else:
            self.model_combo.setEditText(value or "")

    def settings_overrides(self) -> dict[str, Any]:
        """The nested settings dict for the job: the model and every value that differs from
        its default."""
        values: dict[str, Any] = {"model": self.model_value()}
        for dotted, widget in self._setting_widgets.items():
            value = self._widget_value(dotted, widget)
            if value == setting_default(dotted):
                continue
            target = values
            *parents, leaf = dotted.split(".")
            for parent in parents:
                target = target.setdefault(parent, {})
            target[leaf] = value
        return values

    def apply_overrides(self, values: dict[str, Any]) -> None:
        """Shows a nested settings dict (as saved) in the widgets."""
        self.reset_settings()
        if "model" in values:
            self.set_model(values["model"])
        for dotted, widget in self._setting_widgets.items():
            value: Any = values
            for part in dotted.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            if value is not None:
                self._set_widget_value(dotted, widget, value)

    def reset_settings(self) -> None:
        """Puts every setting back to the engine's default."""
        for dotted, widget in self._setting_widgets.items():
            self._set_widget_value(dotted, widget, setting_default(dotted))

    def start_run(self, resume_run: str | None = None) -> bool:
        """Starts the worker on the current dataset and settings; False if it cannot start."""
        if self.engine.is_active():
            return False
        if not self.dataset_path and not resume_run:
            self.banner.show_message("Load a dataset first: drop a file on the window.", "warning")
            return False

        runs_root = self.runs_root or default_runs_root()
        job = {
            "job_version": JOB_VERSION,
            "data": self.dataset_path,
            "settings": self.settings_overrides(),
            "runs_root": str(runs_root),
            "resume_run": resume_run or None,
        }
        self._clear_live_view()
        if resume_run:
            self._append_log(f"Resuming run {resume_run} from its last checkpoint")
        else:
            self._append_log(f"Starting: {json.dumps(job['settings'])} on {self.dataset_path}")
        self.engine.start_job(job)
        self.sig_run_started.emit(job)
        return True

    def save_state(self, settings: QSettings) -> None:
        settings.setValue("train/settings", json.dumps(self.settings_overrides()))
        settings.setValue("train/smoothing", self.smoothing_spin.value())

    def restore_state(self, settings: QSettings) -> None:
        try:
            values = json.loads(str(settings.value("train/settings", "{}")))
        except ValueError:
            values = {}
        if isinstance(values, dict):
            self.apply_overrides(values)
        self.smoothing_spin.setValue(int(settings.value("train/smoothing", 1)))

    def shutdown(self) -> None:
        """Ends engine calls still in flight (window closing); a run is the engine's to end."""
        self._plan_timer.stop()
        if self._plan_command is not None:
            self._plan_command.abort()
            self._plan_command = None

    # ---- What the engine would choose

    def _refresh_plan(self) -> None:
        """Asks the engine (``backprop plan``) what these settings would choose here."""
        self._plan_timer.setInterval(PLAN_DELAY_MS)
        if self._plan_command is not None:
            self._plan_command.abort()
        arguments = ["plan", "--json"]
        overrides = self.settings_overrides()
        model = overrides.pop("model", None)
        if model:
            arguments += ["--model", str(model)]
        for key, value in _dotted(overrides):
            arguments += ["--set", f"{key}={value}"]
        self._plan_command = EngineCommand(arguments, self)
        self._plan_command.sig_command_finished.connect(self._on_plan_finished)
        self._plan_command.start()

    def _on_plan_finished(self, result: CommandResult) -> None:
        self._plan_command = None
        if result.error or not isinstance(result.data, dict):
            message = (result.error or {}).get("message") or _last_line(result.stderr)
            self.plan = None
            self.plan_label.setText(f"<span style='color:#a15c00'>{html.escape(message)}</span>")
            return
        self.plan = result.data
        summary, details = _plan_html(result.data)
        self.plan_label.setText(summary)
        self.plan_label.setToolTip(details)
        self.sig_plan_changed.emit(result.data)

    # ---- Settings widgets

    def _update_dataset_warning(self) -> None:
        """Says before Start what the engine would say after it: invalid records stop a run
        unless they are skipped."""
        count = self.dataset_problems
        if not count:
            self.dataset_warning_label.hide()
            return
        if self.skip_invalid_check.isChecked():
            text = f"{count} invalid record(s) will be skipped and reported."
        else:
            text = (f"{count} invalid record(s): the run will refuse this file. Fix them (the "
                    "Dataset tab lists them) or tick “skip them” below.")
        self.dataset_warning_label.setText(text)
        self.dataset_warning_label.show()

    def _register(self, dotted: str, widget: QWidget) -> None:
        default = setting_default(dotted)
        shown = "empty" if default is None else default
        widget.setToolTip(f"{setting_help(dotted)}\nDefault: {shown}  ({dotted})")
        self._setting_widgets[dotted] = widget

    def _int_setting(self, dotted: str, low: int, high: int, special: str = "") -> QSpinBox:
        spin = QSpinBox(self)
        spin.setRange(low, high)
        spin.setAccelerated(True)
        spin.setCorrectionMode(QAbstractSpinBox.CorrectionMode.CorrectToNearestValue)
        if special:
            spin.setSpecialValueText(special)
        self._register(dotted, spin)
        return spin

    def _choice_setting(self, dotted: str, choices: list[str]) -> QComboBox:
        combo = QComboBox(self)
        combo.addItems(choices)
        self._register(dotted, combo)
        return combo

    @staticmethod
    def _widget_value(dotted: str, widget: QWidget) -> Any:
        if isinstance(widget, QCheckBox):
            return widget.isChecked()
        if isinstance(widget, QComboBox):
            return widget.currentText()
        if isinstance(widget, QDoubleSpinBox):
            return float(f"{widget.value():.6g}")
        value = widget.value()
        # 0 stands for the setting's "empty"/"auto" value where the spin box says so.
        if value == widget.minimum() and widget.specialValueText():
            default = setting_default(dotted)
            return default if not isinstance(default, int) or default == 0 else value
        return value

    @staticmethod
    def _set_widget_value(dotted: str, widget: QWidget, value: Any) -> None:
        if isinstance(widget, QCheckBox):
            widget.setChecked(bool(value))
        elif isinstance(widget, QComboBox):
            widget.setCurrentText(str(value))
        elif isinstance(widget, QDoubleSpinBox):
            widget.setValue(float(value))
        else:
            widget.setValue(widget.minimum() if value in (None, "auto") else int(value))

    # ---- Live view

    def _clear_live_view(self) -> None:
        self.run_id = None
        self.last_step = None
        self.last_eval = None
        self.last_status = None
        self.banner.dismiss()
        self.log_edit.clear()
        self.loss_plot.clear()
        self.loss_plot.add_series("train", "train loss", PALETTE[0], smoothable=True)
        self.loss_plot.add_series("eval", "eval loss", PALETTE[1], markers=True)
        self.loss_plot.set_smoothing(self.smoothing_spin.value())
        self.lr_plot.clear()
        self.lr_plot.add_series("lr", "learning rate", PALETTE[2])
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("%p%")
        for label in (
            self.step_value,
            self.loss_value,
            self.eval_value,
            self.lr_value,
            self.speed_value,
            self.eta_value,
        ):
            label.setText("—")

    def _append_log(self, text: str) -> None:
        self.log_edit.appendPlainText(text)

    def _on_engine_events(self, events: list[dict[str, Any]]) -> None:
        steps: list[float] = []
        losses: list[float] = []
        rates: list[float] = []
        eval_steps: list[float] = []
        eval_losses: list[float] = []
        last_step = None

        # The hot path: a long run sends thousands of step events.
        for event in events:
            kind = event["type"]
            if kind == "step":
                number, loss, rate = event.get("step"), event.get("loss"), event.get("lr")
                if number is None:
                    continue
                last_step = event
                steps.append(number)
                losses.append(math.nan if loss is None else loss)
                rates.append(math.nan if rate is None else rate)
            elif kind == "eval":
                number, value = event.get("step"), event.get("eval_loss")
                if number is None:
                    continue
                eval_steps.append(number)
                eval_losses.append(math.nan if value is None else value)
                self.last_eval = value
            else:
                self._on_engine_notice(event)

        if steps:
            self.loss_plot.extend("train", steps, losses)
            self.lr_plot.extend("lr", steps, rates)
            self.last_step = last_step
        if eval_steps:
            self.loss_plot.extend("eval", eval_steps, eval_losses)
        if (steps or eval_steps) and not self._ui_timer.isActive():
            self._ui_timer.start()

    def _on_engine_notice(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "hello":
            self._append_log(
                f"Engine {event.get('engine_version')} · torch {event.get('torch_version')} · "
                f"device {event.get('device')} · pid {event.get('pid')}"
            )
        elif kind == "config":
            self.run_id = event.get("run_id")
            self._append_log(f"Run {self.run_id} in {event.get('run_dir')}")
            if event.get("resumed"):
                self._replay_history(event.get("run_dir"), event.get("resumed_from"))
            choices = dict(event.get("choices") or {})
            reasons = choices.pop("reasons", None) or {}
            for name, choice in choices.items():
                reason = reasons.get(name)
                self._append_log(f"  {name}: {choice}" + (f" ({reason})" if reason else ""))
        elif kind == "dataset":
            self._append_log(
                f"Data: {event.get('format')}, {event.get('train_rows')} train / "
                f"{event.get('eval_rows')} eval records, {event.get('tokens')} tokens"
                f" ({event.get('truncated', 0)} truncated)"
            )
        elif kind == "download":
            done, total = int(event.get("done") or 0), int(event.get("total") or 0)
            gib = 2**30
            self.state_label.setText(f"Downloading {event.get('model')}: {done / gib:.1f} of "
                                     f"{total / gib:.1f} GB")
            if total:
                self.progress_bar.setMaximum(total // 1024 or 1)
                self.progress_bar.setValue(min(done, total) // 1024)
                self.progress_bar.setFormat("Downloading the model · %p%")
            if done >= total:
                self._append_log(f"Model files ready: {event.get('model')} "
                                 f"({total / gib:.1f} GB)")
        elif kind == "checkpoint":
            self._append_log(f"Checkpoint at step {event.get('step')}: {event.get('path')}")
        elif kind == "paused":
            reason = event.get("reason")
            self.state_label.setText(
                "Paused: the GPU is too hot; training goes on when it cools down"
                if reason == "thermal"
                else "Paused"
            )
            self._append_log(f"Paused at step {event.get('step')} ({reason})")
        elif kind == "resumed":
            self._append_log(f"Resumed at step {event.get('step')}")
        elif kind == "warning":
            self.banner.show_error(event, "warning")
            self._append_log(f"WARNING {event.get('code')}: {event.get('message')}")
        elif kind == "log":
            self._append_log(f"{event.get('level', 'info').upper()} {event.get('message')}")
        elif kind == "finished":
            result = event.get("result") or {}
            self._append_log(
                f"Finished: {event.get('status')}, final loss {_number(result.get('final_loss'))}"
            )

    def _replay_history(self, run_dir: str | None, checkpoint: str | None) -> None:
        """Redraws a resumed run's curves up to the checkpoint it resumes from, so the plot
        shows the whole run rather than only what comes after the restart."""
        if not run_dir or not checkpoint:
            return
        curves = read_run_curves(run_dir)
        last_step = curves.checkpoints.get(checkpoint)
        if last_step is None:
            self._append_log(f"No history found for checkpoint {checkpoint}")
            return
        past = curves.until(last_step)
        self.loss_plot.extend("train", past.steps, past.losses)
        self.lr_plot.extend("lr", past.steps, past.rates)
        self.loss_plot.extend("eval", past.eval_steps, past.eval_losses)
        self._append_log(f"Curves redrawn from the first {len(past.steps)} steps of this run")

    def _on_engine_log(self, text: str) -> None:
        self._append_log(text)

    def _on_engine_error(self, error: dict[str, Any]) -> None:
        self.banner.show_error(error)
        self._append_log(f"ERROR {error.get('code')}: {error.get('message')}")
        if error.get("hint"):
            self._append_log(f"  hint: {error['hint']}")

    def _on_engine_state_changed(self, state: str) -> None:
        self.state_label.setText(_STATE_TEXT.get(state, state))
        self._update_buttons()

    def _on_engine_run_finished(self, status: str, result: dict[str, Any]) -> None:
        self._ui_timer.stop()
        self._refresh_numbers()
        self.loss_plot.redraw()
        self.lr_plot.redraw()
        self.last_status = status
        run_id = str(result.get("run_id") or self.run_id or "")
        if status == "completed":
            self.progress_bar.setValue(self.progress_bar.maximum())
            self.progress_bar.setFormat("Done")
            text = f"Completed · final loss {_number(result.get('final_loss'))}"
        elif status == "stopped":
            text = f"Stopped and saved at step {result.get('steps', '?')}"
        elif status == "cancelled":
            text = "Cancelled"
        else:
            text = "Failed: see the message above"
        self.state_label.setText(text)
        self._update_buttons()
        self.sig_run_finished.emit(status, run_id)

    def _refresh_numbers(self) -> None:
        step = self.last_step
        if step is None:
            return
        total = step.get("total") or 0
        if total:
            self.progress_bar.setMaximum(int(total))
            self.progress_bar.setValue(min(int(step.get("step") or 0), int(total)))
        eta = step.get("eta")
        self.progress_bar.setFormat(f"%p%  ·  ETA {_duration(eta)}" if eta is not None else "%p%")
        self.step_value.setText(f"{step.get('step')} / {total or '?'}")
        self.loss_value.setText(_number(step.get("loss")))
        self.eval_value.setText(_number(self.last_eval))
        rate = step.get("lr")
        self.lr_value.setText("—" if rate is None else f"{rate:.2e}")
        speed = step.get("tokens_per_s")
        self.speed_value.setText("—" if speed is None else f"{speed:,.0f}")
        self.eta_value.setText(_duration(eta))

    def _update_buttons(self) -> None:
        state = self.engine.state
        self.start_button.setEnabled(state == IDLE and bool(self.dataset_path))
        self.pause_button.setEnabled(state == RUNNING)
        self.resume_button.setEnabled(state == PAUSED)
        self.stop_button.setEnabled(state in (RUNNING, PAUSED))
        self.cancel_button.setEnabled(state in (STARTING, RUNNING, PAUSED, STOPPING))
        for widget in [
            self.model_combo,
            self.model_folder_button,
            self.reset_button,
            *self._setting_widgets.values(),
        ]:
            widget.setEnabled(state == IDLE)

    def _on_model_combo_changed(self) -> None:
        line_edit = self.model_combo.lineEdit()
        if not line_edit.hasFocus():
            line_edit.setCursorPosition(0)  # show a long name from its start
        key = self.model_value()
        preset = next((p for p in PRESETS if p.key == key), None)
        if preset is None:
            self.model_note_label.setText(
                "The bundled model on a machine without a CUDA GPU, Qwen2.5 7B Instruct with one."
                if key is None
                else "A Hugging Face id or a local folder."
            )
        else:
            self.model_note_label.setText(
                f"{preset.note} Trains on a GPU of ~{preset.vram_gb_qlora:g} GB in 4-bit, "
                f"~{preset.vram_gb_lora16:g} GB in 16-bit."
            )

    def _on_model_folder_button_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a model folder")
        if folder:
            self.model_combo.setEditText(folder)
            self._on_model_combo_changed()


def _number(value: Any) -> str:
    if value is None:
        return "—"
    try:
        return f"{float(value):.4g}"
    except (TypeError, ValueError):
        return str(value)


def _duration(seconds: Any) -> str:
    if seconds is None:
        return "—"
    seconds = max(0, int(round(float(seconds))))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _dotted(values: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Nested overrides as ``("lora.r", "8")`` pairs for ``--set``."""
    pairs = []
    for key, value in values.items():
        if isinstance(value, dict):
            pairs += _dotted(value, f"{prefix}{key}.")
        else:
            text = str(value).lower() if isinstance(value, bool) else str(value)
            pairs.append((f"{prefix}{key}", text))
    return pairs


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "The engine could not work out a plan."


def _plan_html(plan: dict[str, Any]) -> tuple[str, str]:
    """The plan as one summary line (plus any warnings) and, for the tooltip, every choice
    with its reason."""
    choices = plan.get("choices") or {}
    reasons = choices.get("reasons") or {}
    batch = choices.get("batch_size", "?")
    weights = "4-bit weights" if choices.get("load_in_4bit") else "16-bit weights"
    if choices.get("device") == "cpu":
        weights = "fp32"
    parts = [f"<b>{html.escape(str(plan.get('device', '?')))}</b>"]
    if choices.get("device") != "cpu":
        parts.append(html.escape(str(choices.get("precision", "?"))))
    parts += [weights, f"batch {batch}"]
    usage = plan.get("memory")
    if usage:
        parts.append(f"~{usage['needed_gb']:.1f} of ~{usage['usable_gb']:.1f} GB")
    lines = ["On this machine: " + " · ".join(parts)]
    lines += [f"<span style='color:#a15c00'>{html.escape(w)}</span>"
              for w in plan.get("warnings") or []]

    labels = {"precision": "Precision", "batch_size": "Batch size", "load_in_4bit": "4-bit",
              "gradient_checkpointing": "Gradient checkpointing", "use_unsloth": "unsloth"}
    details = [f"What a run with these settings would choose for {plan.get('model')}:"]
    for name, label in labels.items():
        if name in choices:
            value = choices[name]
            shown = ("yes" if value else "no") if isinstance(value, bool) else str(value)
            details.append(f"{label}: {shown} ({reasons.get(name, 'as set')})")
    return "<br>".join(lines), "\n".join(details)
