"""The thermal guard's decisions; the real reader on a machine without a CUDA GPU."""

from __future__ import annotations

import torch

import engine.thermal as thermal
from engine.thermal import ThermalGuard, gpu_temperature_reader


def test_no_reader_on_a_cpu():
    assert gpu_temperature_reader(torch.device("cpu")) is None
    assert not ThermalGuard(None, 90, 80).active


def test_zero_turns_the_guard_off():
    guard = ThermalGuard(lambda: 99, 0, 80)
    assert not guard.active and guard.too_hot() is None


def test_readings_are_spaced_and_hysteresis_holds(monkeypatch):
    readings = iter([91, 95, 85, 80])
    calls = []

    def read():
        calls.append(1)
        return next(readings)

    monkeypatch.setattr(thermal, "CHECK_EVERY_S", 3600.0)
    guard = ThermalGuard(read, 90, 80)
    assert guard.too_hot() == 91
    assert guard.too_hot() is None and len(calls) == 1  # not read again within the interval
    assert guard.cooled() == (False, 95)
    assert guard.cooled() == (False, 85)  # below the pause mark is not yet cool
    assert guard.cooled() == (True, 80)
