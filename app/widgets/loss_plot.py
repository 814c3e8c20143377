"""A live line plot for training curves: points are appended in batches and drawn at ≤20 Hz.

Each curve is created once and updated with ``setData`` from a single-shot timer, never per
event: redrawing per event is O(n²) over a run and freezes the window. Pens are one pixel wide,
and long curves are clipped to the view and peak-downsampled. pyqtgraph itself is imported
when the plot is first built (``ensure_built``), after the window's first paint: it is most of
the app's start-up time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

logger = logging.getLogger(__name__)

#: Colours for curves, in order of use (readable on white, distinct for colour-blind users).
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")

#: Redraws are coalesced to at most one per this many milliseconds (20 Hz).
REDRAW_INTERVAL_MS = 50


@dataclass
class _Series:
    """One curve's points in growing arrays, and whether the screen is behind them."""

    name: str
    color: str
    dashed: bool
    markers: bool
    smoothable: bool
    x: np.ndarray
    y: np.ndarray
    n: int = 0
    dirty: bool = False
    finite: bool = True
    in_legend: bool = False
    curve: Any = None  # pyqtgraph PlotDataItem, once the plot is built
    smooth_curve: Any = None

    def extend(self, xs: list[float] | np.ndarray, ys: list[float] | np.ndarray) -> None:
        count = len(xs)
        need = self.n + count
        if need > len(self.x):
            size = max(need, 2 * len(self.x))
            self.x = np.resize(self.x, size)
            self.y = np.resize(self.y, size)
        self.x[self.n : need] = xs
        self.y[self.n : need] = np.asarray(ys, dtype=float)
        if self.finite and not np.isfinite(self.y[self.n : need]).all():
            self.finite = False
        self.n = need
        self.dirty = True


class LossPlot(QWidget):
    """Named curves over training steps, with an optional moving-average smoothing.

    Args:
        y_label: The vertical axis label.
        parent: The parent widget.
    """

    def __init__(self, y_label: str = "loss", parent: QWidget | None = None) -> None:
        super().__init__(parent)

        # Attributes
        self.y_label = y_label
        self.plot_widget: Any = None  # pyqtgraph PlotWidget, built by ensure_built()
        self.legend: Any = None
        self._series: dict[str, _Series] = {}
        self._smoothing = 1
        self._legend_visible = True
        self._si_prefix = True
        self._x_label = "step"
        self._build_scheduled = False
        self.redraw_count = 0

        # Widgets
        self._placeholder = QLabel(self)
        self._placeholder.setStyleSheet("background: white;")
        self._redraw_timer = QTimer(self)
        self._redraw_timer.setSingleShot(True)
        self._redraw_timer.setInterval(REDRAW_INTERVAL_MS)

        # Layout
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.addWidget(self._placeholder)

        # Signals
        self._redraw_timer.timeout.connect(self.redraw)

    # ---- Public API

    def paintEvent(self, event: Any) -> None:  # noqa: N802 (Qt override)
        super().paintEvent(event)
        if self.plot_widget is None and not self._build_scheduled:
            # The window is painted without the plot; it follows right after.
            self._build_scheduled = True
            QTimer.singleShot(0, self.ensure_built)

    def ensure_built(self) -> None:
        """Imports pyqtgraph and creates the plot and every curve (once)."""
        if self.plot_widget is not None:
            return
        import pyqtgraph as pg

        pg.setConfigOptions(antialias=False, background="w", foreground="#333333")
        self.plot_widget = pg.PlotWidget(self)
        self.plot_widget.setMenuEnabled(False)
        self.plot_widget.setLabel("left", self.y_label)
        self.plot_widget.setLabel("bottom", self._x_label)
        self.plot_widget.getPlotItem().hideButtons()
        self.plot_widget.getAxis("left").enableAutoSIPrefix(self._si_prefix)
        self.legend = self.plot_widget.addLegend(offset=(-10, 10))
        self.legend.setVisible(self._legend_visible)
        self._layout.replaceWidget(self._placeholder, self.plot_widget)
        self._placeholder.deleteLater()
        for series in self._series.values():
            self._create_curves(series)
            series.dirty = series.n > 0
        self.redraw()

    def set_axis_options(
        self, *, legend: bool = True, si_prefix: bool = True, x_label: str = "step"
    ) -> None:
        """Shows or hides the legend and SI-prefixed ticks (LR values read better without)."""
        self._legend_visible, self._si_prefix = legend, si_prefix
        self._x_label = x_label
        if self.plot_widget is not None:
            self.legend.setVisible(legend)
            self.plot_widget.getAxis("left").enableAutoSIPrefix(si_prefix)
            self.plot_widget.setLabel("bottom", x_label)

    def add_series(
        self,
        key: str,
        name: str,
        color: str,
        *,
        dashed: bool = False,
        markers: bool = False,
        smoothable: bool = False,
    ) -> None:
        """Creates a curve once; later points go through ``extend``."""
        if key in self._series:
            raise KeyError(f"series {key!r} exists")
        series = _Series(
            name,
            color,
            dashed,
            markers,
            smoothable,
            np.empty(256, dtype=float),
            np.empty(256, dtype=float),
        )
        self._series[key] = series
        if self.plot_widget is not None:
            self._create_curves(series)

    def has_series(self, key: str) -> bool:
        return key in self._series

    def extend(self, key: str, xs: list[float] | np.ndarray, ys: list[float] | np.ndarray) -> None:
        """Appends points to a curve; the screen catches up within ``REDRAW_INTERVAL_MS``."""
        if len(xs) == 0:
            return
        self._series[key].extend(xs, ys)
        if not self._redraw_timer.isActive():
            self._redraw_timer.start()

    def clear(self) -> None:
        """Removes every curve and its legend entry."""
        self._redraw_timer.stop()
        if self.plot_widget is not None:
            for series in self._series.values():
                self.plot_widget.removeItem(series.curve)
                if series.smooth_curve is not None:
                    self.plot_widget.removeItem(series.smooth_curve)
            self.legend.clear()
        self._series.clear()

    def point_count(self, key: str) -> int:
        """How many points the curve holds (0 for an unknown key)."""
        series = self._series.get(key)
        return series.n if series else 0

    def points(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """The curve's x and y values (copies; empty for an unknown key)."""
        series = self._series.get(key)
        if series is None:
            return np.empty(0), np.empty(0)
        return series.x[: series.n].copy(), series.y[: series.n].copy()

    def drawn_count(self, key: str) -> int:
        """How many points the curve on screen has been given (lags ``point_count``)."""
        series = self._series.get(key)
        if series is None or series.curve is None:
            return 0
        xs, _ = series.curve.getOriginalDataset()
        return 0 if xs is None else len(xs)

    def set_smoothing(self, window: int) -> None:
        """Draws a trailing moving average over ``window`` points (1 turns smoothing off)."""
        self._smoothing = max(1, int(window))
        for series in self._series.values():
            self._apply_smoothing_style(series)
            series.dirty = series.n > 0
        self.redraw()

    def redraw(self) -> None:
        """Pushes every changed curve to the screen now (nothing before the plot is built)."""
        self._redraw_timer.stop()
        if self.plot_widget is None:
            return
        for series in self._series.values():
            if not series.dirty:
                continue
            series.dirty = False
            xs, ys = series.x[: series.n], series.y[: series.n]
            series.curve.setData(xs, ys, skipFiniteCheck=series.finite)
            if not series.in_legend and series.n:
                series.in_legend = True
                self.legend.addItem(series.curve, series.name)
            if series.smooth_curve is not None and self._smoothing > 1:
                series.smooth_curve.setData(
                    xs, moving_average(ys, self._smoothing), skipFiniteCheck=True
                )
        self.redraw_count += 1

    # ---- Internals

    def _create_curves(self, series: _Series) -> None:
        import pyqtgraph as pg

        style = Qt.PenStyle.DashLine if series.dashed else Qt.PenStyle.SolidLine
        # Unnamed here: a curve joins the legend when it gets its first point (see redraw).
        series.curve = self.plot_widget.plot(
            [],
            [],
            pen=pg.mkPen(series.color, width=1, style=style),
            symbol="o" if series.markers else None,
            symbolSize=5,
            symbolBrush=series.color,
            symbolPen=None,
        )
        series.curve.setClipToView(True)
        series.curve.setDownsampling(auto=True, method="peak")
        if series.smoothable:
            series.smooth_curve = self.plot_widget.plot(
                [], [], pen=pg.mkPen(series.color, width=1)
            )
            series.smooth_curve.setClipToView(True)
            series.smooth_curve.setDownsampling(auto=True, method="peak")
        self._apply_smoothing_style(series)

    def _apply_smoothing_style(self, series: _Series) -> None:
        if series.smooth_curve is None:
            return
        import pyqtgraph as pg

        smoothing = self._smoothing > 1
        series.smooth_curve.setVisible(smoothing)
        color = QColor(series.color)
        if smoothing:
            color.setAlpha(70)  # the raw curve stays as a faint trace behind the average
        style = Qt.PenStyle.DashLine if series.dashed else Qt.PenStyle.SolidLine
        series.curve.setPen(pg.mkPen(color, width=1, style=style))


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over ``window`` points, skipping non-finite values (a diverged step)."""
    finite = np.isfinite(values)
    clean = np.where(finite, values, 0.0)
    sums = np.concatenate(([0.0], np.cumsum(clean)))
    counts = np.concatenate(([0], np.cumsum(finite)))
    upper = np.arange(1, len(values) + 1)
    lower = np.maximum(upper - window, 0)
    count = counts[upper] - counts[lower]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, (sums[upper] - sums[lower]) / np.maximum(count, 1), np.nan)
