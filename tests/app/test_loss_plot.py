"""The live plot: batched appends, coalesced redraws, smoothing that ignores a diverged step."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.widgets.loss_plot import REDRAW_INTERVAL_MS, LossPlot, moving_average


def test_many_appends_are_drawn_in_a_few_redraws(qtbot):
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.ensure_built()
    plot.add_series("train", "train loss", "#1f77b4")

    before = plot.redraw_count

    for start in range(0, 10_000, 10):
        plot.extend("train", list(range(start, start + 10)), [1.0] * 10)

    assert plot.point_count("train") == 10_000
    assert plot.redraw_count == before  # nothing drawn per event
    qtbot.waitUntil(
        lambda: plot.drawn_count("train") == 10_000, timeout=2 * REDRAW_INTERVAL_MS + 1000
    )
    assert plot.redraw_count == before + 1
    curve = plot._series["train"].curve
    assert curve.opts["pen"].width() <= 1
    assert curve.opts["clipToView"] and curve.opts["autoDownsample"]


def test_smoothing_draws_a_moving_average(qtbot):
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.ensure_built()
    plot.add_series("train", "train loss", "#1f77b4", smoothable=True)
    plot.extend("train", [1, 2, 3, 4], [4.0, 2.0, 4.0, 2.0])

    plot.set_smoothing(2)

    series = plot._series["train"]
    assert series.smooth_curve.isVisible()
    _, smoothed = series.smooth_curve.getData()
    assert list(smoothed) == [4.0, 3.0, 3.0, 3.0]
    plot.set_smoothing(1)
    assert not series.smooth_curve.isVisible()


def test_moving_average_skips_non_finite_values():
    values = np.array([1.0, math.nan, 3.0, 5.0])
    assert moving_average(values, 2).tolist() == pytest.approx([1.0, 1.0, 3.0, 4.0])
    assert moving_average(values, 1)[1] != moving_average(values, 1)[1]  # nan stays nan


def test_clear_removes_curves_and_legend(qtbot):
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.ensure_built()
    plot.add_series("a", "a", "#000000")
    plot.extend("a", [1], [1.0])
    plot.redraw()
    assert len(plot.legend.items) == 1
    plot.clear()
    assert not plot.has_series("a")
    assert plot.point_count("a") == 0
    assert len(plot.legend.items) == 0
