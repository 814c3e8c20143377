"""Backpropagate's headless engine: data, training, runs, and the worker the app drives.

``from engine import Trainer`` is the three-line API. Importing this package does not import
torch: the heavy stack loads on first use, so the CLI answers ``--help`` at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:  # pragma: no cover
    from engine.trainer import Trainer, TrainResult

__all__ = ["Trainer", "TrainResult", "__version__"]


def __getattr__(name: str) -> Any:
    if name in ("Trainer", "TrainResult"):
        from engine import trainer

        return getattr(trainer, name)
    raise AttributeError(f"module 'engine' has no attribute {name!r}")
