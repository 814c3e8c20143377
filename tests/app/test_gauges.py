"""GPU gauges: the plain no-GPU state, real numbers from a faithful fake NVML, a lost GPU."""

from __future__ import annotations

import inspect

import pynvml
import pytest

from app.gpu_monitor import NO_GPU_TEXT, GpuMonitor
from app.widgets.gauges import GpuGauges
from tests.app.fake_nvml import FakeGpu, FakeNvml


def test_the_fake_follows_the_real_pynvml_api():
    fake = FakeNvml([FakeGpu()])
    for name, member in inspect.getmembers(fake):
        if name.startswith("nvml") or name.startswith("NVML"):
            assert hasattr(pynvml, name), f"pynvml has no {name}"
            real = getattr(pynvml, name)
            if callable(member) and not isinstance(member, type):
                assert _required(real) == _required(member), name
    assert issubclass(pynvml.NVMLError_LibraryNotFound, pynvml.NVMLError)
    assert pynvml.NVML_TEMPERATURE_GPU == fake.NVML_TEMPERATURE_GPU


def _required(function) -> int:
    params = inspect.signature(function).parameters.values()
    return sum(1 for p in params if p.default is inspect.Parameter.empty)


def test_without_a_driver_the_gauges_say_so_and_do_not_poll(qtbot, no_gpu_nvml):
    gauges = GpuGauges(GpuMonitor(no_gpu_nvml))
    qtbot.addWidget(gauges)
    gauges.start()

    assert gauges.status_label.text() == NO_GPU_TEXT == "No NVIDIA GPU — training on CPU"
    assert not gauges.is_polling()


def test_the_real_pynvml_without_a_driver_means_no_gpu():
    monitor = GpuMonitor()  # the real pynvml
    if monitor.start():
        monitor.shutdown()
        pytest.skip("this machine has an NVIDIA driver")
    assert monitor.reason == NO_GPU_TEXT
    assert monitor.sample() == []


def test_one_gpu_shows_memory_temperature_utilisation_and_power(qtbot):
    nvml = FakeNvml([FakeGpu()])
    gauges = GpuGauges(GpuMonitor(nvml))
    qtbot.addWidget(gauges)

    with qtbot.waitSignal(gauges.sig_sample_taken, timeout=1000) as taken:
        gauges.start()

    sample = taken.args[0][0]
    assert (sample.memory_used, sample.memory_total) == (12 * 2**30, 24 * 2**30)
    assert sample.power_w == pytest.approx(312.0)  # NVML reports milliwatts
    gauge = gauges._gauges[0]
    assert gauge.memory_bar.text() == "VRAM 12.0 / 24.0 GB"
    assert gauge.memory_bar.value() == 500
    assert gauge.readings_label.text() == "64 °C · 87 % busy · 312 W"
    assert gauge.name_label.text() == "RTX 4090"
    assert gauges.status_label.isHidden()
    assert gauges.is_polling()

    # The next poll, a second later, shows new numbers.
    nvml.gpus[0].temperature_c = 91
    with qtbot.waitSignal(gauges.sig_sample_taken, timeout=3000):
        pass
    assert gauge.readings_label.text().startswith("91 °C")
    assert "c62828" in gauge.readings_label.styleSheet()  # hot: red
    gauges.stop()
    assert not gauges.is_polling()
    assert not nvml.initialised


def test_several_gpus_get_one_gauge_each_and_missing_readings_are_left_out(qtbot):
    nvml = FakeNvml(
        [
            FakeGpu(name="NVIDIA A100-SXM4-80GB", memory_used=2**30, memory_total=80 * 2**30),
            FakeGpu(name="NVIDIA GeForce RTX 3060", power_mw=None, temperature_c=None),
        ]
    )
    gauges = GpuGauges(GpuMonitor(nvml))
    qtbot.addWidget(gauges)
    gauges.start()

    first, second = gauges._gauges
    assert first.name_label.text() == "GPU 0: A100-SXM4-80GB"
    assert second.name_label.text() == "GPU 1: RTX 3060"
    assert second.readings_label.text() == "87 % busy"
    gauges.stop()


def test_a_gpu_lost_mid_run_turns_the_gauges_off(qtbot):
    nvml = FakeNvml([FakeGpu()])
    gauges = GpuGauges(GpuMonitor(nvml))
    qtbot.addWidget(gauges)
    gauges.start()
    assert gauges.is_polling()

    nvml.lost = True
    gauges.poll()

    assert not gauges.is_polling()
    assert gauges.status_label.text() == "GPU gauges stopped: NVML GpuIsLost"
    assert gauges._gauges[0].isHidden()


def test_the_window_status_bar_shows_the_no_gpu_state(window, qtbot):
    qtbot.waitUntil(lambda: window.gauges.status_label.text() == NO_GPU_TEXT, timeout=2000)
    assert window.gauges.isVisible()
