"""Status-bar GPU gauges: VRAM, temperature, utilisation and power, one group per GPU.

The widget polls a ``GpuMonitor`` once a second in the GUI thread (NVML answers in well under
a millisecond). Without an NVIDIA GPU it shows one plain sentence and never polls.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QWidget

from app.gpu_monitor import GpuMonitor, GpuSample

logger = logging.getLogger(__name__)

POLL_INTERVAL_MS = 1000
#: Temperatures at which the reading turns amber and red (most GPUs throttle near 85-90 °C).
WARM_C = 80
HOT_C = 88


class _GpuGauge(QWidget):
    """One GPU's readings: a VRAM bar and a line of numbers."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)

        # Widgets
        self.name_label = QLabel(self)
        self.memory_bar = QProgressBar(self)
        self.memory_bar.setRange(0, 1000)
        self.memory_bar.setFixedWidth(170)
        self.memory_bar.setMaximumHeight(16)
        self.readings_label = QLabel(self)

        # Layout
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.name_label)
        layout.addWidget(self.memory_bar)
        layout.addWidget(self.readings_label)

    def show_sample(self, sample: GpuSample, several: bool) -> None:
        prefix = f"GPU {sample.index}: " if several else ""
        self.name_label.setText(f"{prefix}{_short_name(sample.name)}")
        self.memory_bar.setValue(round(sample.memory_fraction * 1000))
        self.memory_bar.setFormat(
            f"VRAM {sample.memory_used / 2**30:.1f} / {sample.memory_total / 2**30:.1f} GB"
        )

        parts = []
        temperature_style = ""
        if sample.temperature_c is not None:
            parts.append(f"{sample.temperature_c} °C")
            if sample.temperature_c >= HOT_C:
                temperature_style = "color: #c62828; font-weight: bold;"
            elif sample.temperature_c >= WARM_C:
                temperature_style = "color: #e65100;"
        if sample.utilization_pct is not None:
            parts.append(f"{sample.utilization_pct} % busy")
        if sample.power_w is not None:
            parts.append(f"{sample.power_w:.0f} W")
        self.readings_label.setText(" · ".join(parts) or "no readings")
        self.readings_label.setStyleSheet(temperature_style)
        self.setToolTip(
            f"{sample.name}\nMemory: {sample.memory_used / 2**20:,.0f} of "
            f"{sample.memory_total / 2**20:,.0f} MiB\n" + "\n".join(parts)
        )


class GpuGauges(QWidget):
    """All GPUs' gauges, or a sentence saying why there are none.

    Args:
        monitor: Where readings come from; None makes a monitor over the real ``pynvml``.
        parent: The parent widget.
    """

    #: Fresh readings were shown; carries the list of ``GpuSample``.
    sig_sample_taken = Signal(object)

    def __init__(self, monitor: GpuMonitor | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)

        # Attributes
        self.monitor = monitor if monitor is not None else GpuMonitor()
        self._gauges: list[_GpuGauge] = []
        self._started = False

        # Widgets
        self.status_label = QLabel("GPU: checking…", self)
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_INTERVAL_MS)

        # Layout
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(4, 0, 4, 0)
        self._layout.setSpacing(14)
        self._layout.addWidget(self.status_label)

        # Signals
        self._timer.timeout.connect(self.poll)

    def start(self) -> None:
        """Initialises NVML and starts polling if there is a GPU; call once the window shows."""
        if self._started:
            return
        self._started = True
        if not self.monitor.start():
            self._show_unavailable()
            return
        self.poll()
        self._timer.start()

    def stop(self) -> None:
        """Stops polling and releases NVML."""
        self._timer.stop()
        self.monitor.shutdown()
        self._started = False

    def is_polling(self) -> bool:
        return self._timer.isActive()

    def poll(self) -> None:
        """Takes one reading of every GPU and shows it."""
        samples = self.monitor.sample()
        if not samples:
            self._timer.stop()
            self._show_unavailable()
            return

        while len(self._gauges) < len(samples):
            gauge = _GpuGauge(self)
            self._gauges.append(gauge)
            self._layout.addWidget(gauge)
        several = len(samples) > 1
        for gauge, sample in zip(self._gauges, samples, strict=False):
            gauge.show_sample(sample, several)
            gauge.show()
        self.status_label.hide()
        self.sig_sample_taken.emit(samples)

    def _show_unavailable(self) -> None:
        for gauge in self._gauges:
            gauge.hide()
        self.status_label.setText(self.monitor.reason)
        self.status_label.setToolTip(
            "GPU gauges read NVML from the NVIDIA driver. Training still works; on a machine "
            "without an NVIDIA GPU it runs on the CPU (slowly, for small models)."
        )
        self.status_label.show()


def _short_name(name: str) -> str:
    return name.removeprefix("NVIDIA ").removeprefix("GeForce ")
