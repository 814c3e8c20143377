"""Experiment trackers the user asked for (``report_to``): TensorBoard, W&B, MLflow.

Each is used only if its package is installed; a missing one is a warning, not a failure,
because the run itself does not depend on it.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


class _TensorBoard:
    def __init__(self, run_dir: Path, config: dict[str, Any]) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self._writer = SummaryWriter(log_dir=str(run_dir / "tensorboard"))
        self._writer.add_text("config", f"```\n{config}\n```")

    def log(self, metrics: dict[str, float], step: int) -> None:
        for name, value in metrics.items():
            if value is not None:
                self._writer.add_scalar(name, value, step)

    def close(self) -> None:
        self._writer.close()


class _Wandb:
    def __init__(self, run_dir: Path, config: dict[str, Any]) -> None:
        import wandb

        self._wandb = wandb
        self._run = wandb.init(project="backpropagate", name=run_dir.name, config=config,
                               dir=str(run_dir))

    def log(self, metrics: dict[str, float], step: int) -> None:
        self._run.log(metrics, step=step)

    def close(self) -> None:
        self._run.finish()


class _MLflow:
    def __init__(self, run_dir: Path, config: dict[str, Any]) -> None:
        import mlflow

        self._mlflow = mlflow
        mlflow.start_run(run_name=run_dir.name)
        flat = {k: str(v)[:250] for k, v in _flatten(config).items()}
        mlflow.log_params(flat)

    def log(self, metrics: dict[str, float], step: int) -> None:
        self._mlflow.log_metrics({k: v for k, v in metrics.items() if v is not None}, step=step)

    def close(self) -> None:
        self._mlflow.end_run()


_TRACKERS = {"tensorboard": ("tensorboard", _TensorBoard), "wandb": ("wandb", _Wandb),
             "mlflow": ("mlflow", _MLflow)}


def open_trackers(names: list[str], run_dir: Path, config: dict[str, Any],
                  emit: Callable[..., Any]) -> list[Any]:
    """Starts each requested tracker that is installed; warns about the others."""
    trackers = []
    for name in names:
        package, factory = _TRACKERS[name]
        if importlib.util.find_spec(package) is None:
            emit("warning", code="FEATURE_UNAVAILABLE",
                 message=f"report_to={name}: the {package} package is not installed; "
                         f"not logging there (pip install {package})")
            continue
        try:
            trackers.append(factory(run_dir, config))
        except Exception as exc:  # noqa: BLE001 - a tracker must never stop training
            emit("warning", code="FEATURE_UNAVAILABLE",
                 message=f"report_to={name} could not start: {exc}")
    return trackers


def _flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out = {}
    for key, value in config.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out
