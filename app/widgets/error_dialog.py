"""The one dialog through which an unexpected error reaches the user, with copyable details."""

from __future__ import annotations

import logging

from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

logger = logging.getLogger(__name__)


class ErrorDialog(QDialog):
    """A summary sentence above the full details (a traceback), which can be copied.

    Args:
        summary: One or two sentences for the user.
        details: The text a developer needs; shown read-only and copied by "Copy details".
        parent: The parent widget.
    """

    def __init__(self, summary: str, details: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)

        # Attributes
        self.details = details
        self.errors = 1
        self._first_summary = summary

        # Widgets
        self.setWindowTitle("Backpropagate: unexpected error")
        self.summary_label = QLabel(summary, self)
        self.summary_label.setWordWrap(True)
        self.details_edit = QPlainTextEdit(details, self)
        self.details_edit.setReadOnly(True)
        self.details_edit.setMinimumSize(560, 220)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.copy_button = QPushButton("Copy details", self)
        self.buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)

        # Layout
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.details_edit)
        layout.addWidget(self.buttons)

        # Signals
        self.buttons.rejected.connect(self.reject)
        self.copy_button.clicked.connect(self._on_copy_button_clicked)

    def add_error(self, summary: str, details: str) -> None:
        """Adds a later error to this dialog (one dialog, however many errors)."""
        self.errors += 1
        self.details = f"{self.details}\n\n{details}"
        self.details_edit.setPlainText(self.details)
        self.summary_label.setText(
            f"{self._first_summary}\n\n{self.errors - 1} more error(s) since; all are in the "
            f"details below. Latest: {summary.splitlines()[0]}"
        )

    def _on_copy_button_clicked(self) -> None:
        QApplication.clipboard().setText(self.details)
