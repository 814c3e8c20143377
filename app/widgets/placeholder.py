"""A page for a tab whose engine part is not there yet: what it will do, and nothing to click."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget


class PlannedFeaturePage(QWidget):
    """Explains a feature that a later engine release enables; holds no controls.

    Args:
        title: The feature's name.
        description: What the tab will do, as rich text (a paragraph and a short list).
        missing: Which engine part it waits for, in one sentence.
        parent: The parent widget.
    """

    def __init__(
        self, title: str, description: str, missing: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)

        # Widgets
        self.title_label = QLabel(f"<h2>{title}</h2>", self)
        self.description_label = QLabel(description, self)
        self.description_label.setWordWrap(True)
        self.description_label.setTextFormat(Qt.TextFormat.RichText)
        self.missing_label = QLabel(missing, self)
        self.missing_label.setWordWrap(True)
        self.missing_label.setObjectName("plannedNote")
        self.missing_label.setStyleSheet(
            "#plannedNote { background: #f3f3f3; border: 1px solid #d0d0d0; border-radius: 4px;"
            " padding: 8px; color: #555; }"
        )

        # Layout
        layout = QVBoxLayout(self)
        layout.setContentsMargins(32, 24, 32, 24)
        layout.addWidget(self.title_label)
        layout.addWidget(self.description_label)
        layout.addSpacing(12)
        layout.addWidget(self.missing_label)
        layout.addStretch(1)
        self.setMaximumWidth(900)
