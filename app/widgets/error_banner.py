"""An inline banner for errors and notices: code, message and hint, with copyable details."""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

logger = logging.getLogger(__name__)

_STYLES = {
    "error": "background: #fdecea; border: 1px solid #e57373; border-radius: 4px;",
    "warning": "background: #fff8e1; border: 1px solid #ffb74d; border-radius: 4px;",
    "info": "background: #e8f4fd; border: 1px solid #64b5f6; border-radius: 4px;",
}


class ErrorBanner(QFrame):
    """Shows one error (``code``, ``message``, ``hint``) or notice until dismissed."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)

        # Attributes
        self.error: dict[str, Any] | None = None
        self.level = "error"

        # Widgets
        self.title_label = QLabel(self)
        self.title_label.setStyleSheet("border: none; background: transparent; font-weight: bold;")
        self.message_label = QLabel(self)
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message_label.setStyleSheet("border: none; background: transparent;")
        self.hint_label = QLabel(self)
        self.hint_label.setWordWrap(True)
        self.hint_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hint_label.setStyleSheet("border: none; background: transparent; color: #444;")
        self.copy_button = QPushButton("Copy details", self)
        self.close_button = QPushButton("Dismiss", self)

        # Layout
        text = QVBoxLayout()
        text.setSpacing(2)
        text.addWidget(self.title_label)
        text.addWidget(self.message_label)
        text.addWidget(self.hint_label)
        buttons = QVBoxLayout()
        buttons.addWidget(self.copy_button)
        buttons.addWidget(self.close_button)
        buttons.addStretch(1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.addLayout(text, 1)
        layout.addLayout(buttons)
        self.hide()

        # Signals
        self.copy_button.clicked.connect(self._on_copy_button_clicked)
        self.close_button.clicked.connect(self.dismiss)

    def show_error(self, error: dict[str, Any], level: str = "error") -> None:
        """Shows an error dict with ``code``, ``message`` and optional ``hint`` and ``where``."""
        self.error = dict(error)
        self.level = level
        code = error.get("code") or ""
        heading = {"error": "Error", "warning": "Warning", "info": "Note"}[level]
        self.title_label.setText(f"{heading}: {code}" if code else heading)
        self.message_label.setText(str(error.get("message", "")))
        hint = error.get("hint")
        self.hint_label.setText(f"What to do: {hint}" if hint else "")
        self.hint_label.setVisible(bool(hint))
        self.setStyleSheet(f"ErrorBanner {{ {_STYLES[level]} }}")
        self.show()

    def show_message(self, message: str, level: str = "info", hint: str | None = None) -> None:
        """Shows a notice without an error code."""
        self.show_error({"code": "", "message": message, "hint": hint}, level)

    def dismiss(self) -> None:
        self.error = None
        self.hide()

    def details(self) -> str:
        """The shown error as plain text, as copied to the clipboard."""
        if not self.error:
            return ""
        lines = [
            f"{key}: {self.error[key]}"
            for key in ("code", "message", "hint", "where")
            if self.error.get(key)
        ]
        return "\n".join(lines)

    def _on_copy_button_clicked(self) -> None:
        QApplication.clipboard().setText(self.details())
