"""GPU telemetry through NVML (``pynvml``): memory, temperature, utilisation and power.

Plain Python, no Qt: the gauges widget polls ``GpuMonitor.sample`` from a timer. Without an
NVIDIA driver the monitor says so in ``reason`` and never raises. Tests pass a fake module
that follows the real ``pynvml`` API.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from types import ModuleType
from typing import Any

logger = logging.getLogger(__name__)

#: Shown when there is no NVIDIA GPU to watch; the engine then trains on the CPU.
NO_GPU_TEXT = "No NVIDIA GPU — training on CPU"

# NVML errors that mean "this machine has no usable NVIDIA GPU", as opposed to a fault.
_NO_GPU_ERRORS = ("LibraryNotFound", "DriverNotLoaded", "GpuNotFound", "NotFound")


@dataclass(frozen=True)
class GpuSample:
    """One reading of one GPU; a value is None where the GPU does not report it."""

    index: int
    name: str
    memory_used: int
    memory_total: int
    temperature_c: int | None
    utilization_pct: int | None
    power_w: float | None

    @property
    def memory_fraction(self) -> float:
        return self.memory_used / self.memory_total if self.memory_total else 0.0


class GpuMonitor:
    """Reads every NVIDIA GPU through NVML; a missing driver is a state, not an error.

    Args:
        nvml: The ``pynvml`` module, or a stand-in with the same API. None imports pynvml.
    """

    def __init__(self, nvml: ModuleType | Any | None = None) -> None:
        self.available = False
        self.reason = NO_GPU_TEXT
        self._nvml = nvml
        self._handles: list[Any] = []
        self._names: list[str] = []

    def start(self) -> bool:
        """Initialises NVML and finds the GPUs; returns whether any can be watched."""
        nvml = self._nvml
        if nvml is None:
            try:
                import pynvml as nvml
            except ImportError:
                self.reason = f"{NO_GPU_TEXT} (nvidia-ml-py is not installed)"
                return False
            self._nvml = nvml

        try:
            nvml.nvmlInit()
            count = nvml.nvmlDeviceGetCount()
            self._handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
            self._names = [_text(nvml.nvmlDeviceGetName(h)) for h in self._handles]
        except nvml.NVMLError as exc:
            self.reason = _describe(exc)
            logger.info("GPU gauges off: %s", self.reason)
            return False
        except OSError as exc:
            self.reason = f"GPU gauges unavailable: {exc}"
            return False

        self.available = bool(self._handles)
        self.reason = f"{len(self._handles)} NVIDIA GPU(s)" if self.available else NO_GPU_TEXT
        return self.available

    def sample(self) -> list[GpuSample]:
        """Reads every GPU once. After a fault (GPU lost, driver reset) the monitor turns off."""
        if not self.available:
            return []
        nvml = self._nvml
        samples = []
        try:
            for index, handle in enumerate(self._handles):
                memory = nvml.nvmlDeviceGetMemoryInfo(handle)
                samples.append(
                    GpuSample(
                        index=index,
                        name=self._names[index],
                        memory_used=int(memory.used),
                        memory_total=int(memory.total),
                        temperature_c=_optional(
                            nvml, nvml.nvmlDeviceGetTemperature, handle, nvml.NVML_TEMPERATURE_GPU
                        ),
                        utilization_pct=_optional(
                            nvml, lambda h: nvml.nvmlDeviceGetUtilizationRates(h).gpu, handle
                        ),
                        power_w=_optional(
                            nvml, lambda h: nvml.nvmlDeviceGetPowerUsage(h) / 1000.0, handle
                        ),
                    )
                )
        except nvml.NVMLError as exc:
            self.available = False
            self.reason = f"GPU gauges stopped: NVML {_error_name(exc)}"
            logger.warning("%s", self.reason)
            return []
        return samples

    def shutdown(self) -> None:
        """Releases NVML; the monitor can be started again."""
        if self.available:
            try:
                self._nvml.nvmlShutdown()
            except self._nvml.NVMLError:
                pass
        self.available = False
        self._handles = []


def _optional(nvml: Any, getter: Any, *args: Any) -> Any:
    """A reading that some GPUs do not support (power on laptops, temperature on vGPUs)."""
    try:
        return getter(*args)
    except nvml.NVMLError as exc:
        if _error_name(exc) in ("NotSupported", "NoPermission", "NoData"):
            return None
        raise


def _error_name(exc: Exception) -> str:
    return type(exc).__name__.removeprefix("NVMLError_")


def _describe(exc: Exception) -> str:
    name = _error_name(exc)
    if name in _NO_GPU_ERRORS:
        return NO_GPU_TEXT
    return f"GPU gauges unavailable: NVML {name}"


def _text(value: str | bytes) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
