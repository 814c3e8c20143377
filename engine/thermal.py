"""Thermal pause: training holds between steps while the GPU is too hot, and goes on once cool.

The worker owns this, so runs from the CLI and the Python API are protected as well as those
from the app. Temperatures come from NVML through ``torch.cuda.temperature``, which maps the
CUDA device to its NVML handle (``CUDA_VISIBLE_DEVICES`` included). Without a CUDA GPU or
NVML the guard is off, and the log says so once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

#: Seconds between temperature readings while training (one NVML call each).
CHECK_EVERY_S = 5.0
#: Seconds between readings while holding for the GPU to cool.
COOL_POLL_S = 5.0

Reader = Callable[[], "int | None"]


def gpu_temperature_reader(device: Any) -> Reader | None:
    """A function returning the temperature in °C of the GPU training runs on.

    Args:
        device: The ``torch.device`` training uses.

    Returns:
        None for a CPU, or when the GPU's temperature cannot be read.
    """
    import torch

    if device.type != "cuda" or not torch.cuda.is_available():
        return None
    device_index = device.index or 0
    try:
        torch.cuda.temperature(device_index)
    except Exception as exc:  # noqa: BLE001 - no pynvml, no driver support, no permission
        logger.warning("thermal pause is off: the GPU temperature cannot be read (%s)", exc)
        return None

    def read() -> int | None:
        try:
            return int(torch.cuda.temperature(device_index))
        except Exception:  # noqa: BLE001 - a failed reading is not a reason to stop training
            return None

    return read


class ThermalGuard:
    """Decides, between steps, whether the GPU is too hot to go on.

    Args:
        read: Returns the temperature in °C, or None when unknown; None turns the guard off.
        pause_c: Hold at or above this temperature (0 turns the guard off).
        resume_c: Go on at or below this temperature.
    """

    def __init__(self, read: Reader | None, pause_c: int, resume_c: int) -> None:
        self.read = read if pause_c > 0 else None
        self.pause_c = pause_c
        self.resume_c = resume_c
        self._next_check = 0.0

    @property
    def active(self) -> bool:
        return self.read is not None

    def too_hot(self) -> int | None:
        """The temperature if training should hold now; None otherwise. Reads at most once
        every ``CHECK_EVERY_S`` seconds."""
        if self.read is None or time.monotonic() < self._next_check:
            return None
        self._next_check = time.monotonic() + CHECK_EVERY_S
        temperature = self.read()
        if temperature is not None and temperature >= self.pause_c:
            return temperature
        return None

    def cooled(self) -> tuple[bool, int | None]:
        """Whether the GPU is cool enough to go on, and the temperature read."""
        temperature = self.read() if self.read else None
        return temperature is None or temperature <= self.resume_c, temperature
