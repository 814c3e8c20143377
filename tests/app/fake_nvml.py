"""A stand-in for ``pynvml`` (nvidia-ml-py) that follows its API, for machines without a GPU.

Only what NVML itself would answer is faked: names, signatures, units (memory in bytes, power in
milliwatts) and the error classes. ``test_gauges.py`` checks these names against the real module.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

NVML_TEMPERATURE_GPU = 0


class NVMLError(Exception):
    """Like ``pynvml.NVMLError``: the base class, with the NVML return code in ``value``."""

    value = 999

    def __str__(self) -> str:
        return type(self).__name__


class NVMLError_Uninitialized(NVMLError):  # noqa: N801 (pynvml's names)
    value = 1


class NVMLError_NotSupported(NVMLError):  # noqa: N801
    value = 3


class NVMLError_DriverNotLoaded(NVMLError):  # noqa: N801
    value = 9


class NVMLError_LibraryNotFound(NVMLError):  # noqa: N801
    value = 12


class NVMLError_GpuIsLost(NVMLError):  # noqa: N801
    value = 15


@dataclass
class FakeGpu:
    """One GPU's readings; ``None`` for power or temperature means "not supported"."""

    name: str = "NVIDIA GeForce RTX 4090"
    memory_used: int = 12 * 2**30
    memory_total: int = 24 * 2**30
    temperature_c: int | None = 64
    utilization_pct: int = 87
    power_mw: int | None = 312_000


class FakeNvml:
    """The pynvml functions the app calls, over a list of fake GPUs (None: no driver).

    Args:
        gpus: The GPUs to report; None behaves like a machine without the NVIDIA driver.
    """

    NVML_TEMPERATURE_GPU = NVML_TEMPERATURE_GPU
    NVMLError = NVMLError
    NVMLError_Uninitialized = NVMLError_Uninitialized
    NVMLError_NotSupported = NVMLError_NotSupported
    NVMLError_DriverNotLoaded = NVMLError_DriverNotLoaded
    NVMLError_LibraryNotFound = NVMLError_LibraryNotFound
    NVMLError_GpuIsLost = NVMLError_GpuIsLost

    def __init__(self, gpus: list[FakeGpu] | None) -> None:
        self.gpus = gpus
        self.initialised = False
        self.lost = False
        self.calls = 0

    def nvmlInit(self) -> None:  # noqa: N802
        if self.gpus is None:
            raise NVMLError_LibraryNotFound()
        self.initialised = True

    def nvmlShutdown(self) -> None:  # noqa: N802
        self._check()
        self.initialised = False

    def nvmlDeviceGetCount(self) -> int:  # noqa: N802
        self._check()
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> FakeGpu:  # noqa: N802
        self._check()
        return self.gpus[index]

    def nvmlDeviceGetName(self, handle: FakeGpu) -> str:  # noqa: N802
        self._check()
        return handle.name

    def nvmlDeviceGetMemoryInfo(  # noqa: N802
        self, handle: FakeGpu, version: int | None = None
    ) -> SimpleNamespace:
        self._check()
        return SimpleNamespace(
            total=handle.memory_total,
            used=handle.memory_used,
            free=handle.memory_total - handle.memory_used,
        )

    def nvmlDeviceGetTemperature(self, handle: FakeGpu, sensor: int) -> int:  # noqa: N802
        self._check()
        if sensor != NVML_TEMPERATURE_GPU or handle.temperature_c is None:
            raise NVMLError_NotSupported()
        return handle.temperature_c

    def nvmlDeviceGetUtilizationRates(self, handle: FakeGpu) -> SimpleNamespace:  # noqa: N802
        self._check()
        return SimpleNamespace(gpu=handle.utilization_pct, memory=handle.utilization_pct // 2)

    def nvmlDeviceGetPowerUsage(self, handle: FakeGpu) -> int:  # noqa: N802
        self._check()
        if handle.power_mw is None:
            raise NVMLError_NotSupported()
        return handle.power_mw

    def _check(self) -> None:
        self.calls += 1
        if not self.initialised:
            raise NVMLError_Uninitialized()
        if self.lost:
            raise NVMLError_GpuIsLost()
