"""The Export tab: a trained adapter to a quantized GGUF and an Ollama model. Not available yet.

The engine's export part does not exist yet, so the tab only says what it will do; the main
window keeps it disabled until ``is_available()`` says otherwise.
"""

from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout, QWidget

from app.widgets.placeholder import PlannedFeaturePage

TITLE = "Export"
SUMMARY = "Merge a run's adapter, convert it to a quantized GGUF and register it with Ollama."


def is_available() -> bool:
    """Whether the tab can be used; the window disables it otherwise."""
    # TODO: return True once this tab has its controls, wired to the engine's export module
    # (engine.export) — when both land, this placeholder page goes too.
    return False


class ExportTab(QWidget):
    """What export will offer, with no controls until the engine supports it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)

        # Widgets
        self.page = PlannedFeaturePage(
            TITLE,
            "<p>One button from a finished run to a model you can chat with: the adapter is "
            "merged into the base model, converted to GGUF with llama.cpp, quantized, and "
            "registered with a local Ollama using the model's own chat template.</p>"
            "<ul><li>pick a run and a quantization (Q4_K_M, Q5_K_M, Q8_0, F16);</li>"
            "<li>see the file size before converting;</li>"
            "<li>try the result with a test prompt once Ollama has it.</li></ul>",
            "Not available yet: this tab arrives with the engine's export step. Finished runs "
            "keep their adapters in their run folders meanwhile.",
            self,
        )

        # Layout
        layout = QVBoxLayout(self)
        layout.addWidget(self.page)
