"""The Multi-Run tab: several short runs merged into one adapter (SLAO). Not available yet.

The engine's multi-run part does not exist yet, so the tab only says what it will do; the main
window keeps it disabled until ``is_available()`` says otherwise.
"""

from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout, QWidget

from app.widgets.placeholder import PlannedFeaturePage

TITLE = "Multi-Run"
SUMMARY = "Train several short runs on data slices and merge them into one adapter."


def is_available() -> bool:
    """Whether the tab can be used; the window disables it otherwise."""
    # TODO: return True once this tab has its controls, wired to the engine's multi-run module
    # (engine.multirun) — when both land, this placeholder page goes too.
    return False


class MultiRunTab(QWidget):
    """What multi-run training will offer, with no controls until the engine supports it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)

        # Widgets
        self.page = PlannedFeaturePage(
            TITLE,
            "<p>Long fine-tunes drift: the model forgets what it knew as it learns the new "
            "data. Multi-run training splits the dataset into slices, trains a short LoRA run on "
            "each, and merges the adapters into one (SLAO: orthogonal initialisation and "
            "time-aware merging).</p>"
            "<ul><li>choose the number of runs and steps per run;</li>"
            "<li>watch each run's loss and the merged model's eval loss side by side;</li>"
            "<li>keep the merged adapter as a normal run, ready to export.</li></ul>",
            "Not available yet: this tab arrives with the engine's multi-run step. Single runs "
            "on the Train tab work today.",
            self,
        )

        # Layout
        layout = QVBoxLayout(self)
        layout.addWidget(self.page)
