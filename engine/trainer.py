"""The three-line Python API::

    from engine import Trainer
    result = Trainer().train("examples/quickstart.jsonl", steps=60)
    print(result.final_loss, result.adapter_path)

It runs in the calling process, writes the same run folder as the worker and the CLI, and can
be stopped from another thread with ``stop()``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from engine.config import Settings, resolve_settings
from engine.errors import BackpropError
from engine.jobs import open_run
from engine.logs import set_run
from engine.runs import EVENTS_FILE, EventLog, RunStore, atomic_write_text
from engine.training import Controls, Emitter, TrainResult, hello, run_training

__all__ = ["Trainer", "TrainResult"]


class Trainer:
    """Fine-tunes a model with LoRA.

    Args:
        model: Local folder, Hugging Face id or preset name; None picks the default for this
            machine (the bundled model without a CUDA GPU).
        **settings: Any field of ``engine.config.Settings``: top-level (``learning_rate=1e-4``),
            nested as a dict (``lora={"r": 32}``) or with ``__`` (``lora__r=32``). They win
            over ``BACKPROPAGATE_*`` environment variables and ``.env``.
    """

    def __init__(self, model: str | None = None, **settings: Any) -> None:
        self._overrides = dict(settings)
        if model is not None:
            self._overrides["model"] = model
        # Validate now, so a typo fails at construction rather than after loading data.
        self.settings: Settings = resolve_settings(self._overrides)
        self.result: TrainResult | None = None
        self._controls = Controls()

    def train(
        self,
        data: str | Path | Iterable[dict[str, Any]],
        steps: int | None = None,
        epochs: float | None = None,
        *,
        output: str | Path | None = None,
        on_event: Callable[[dict[str, Any]], None] | None = None,
    ) -> TrainResult:
        """Trains on a dataset file (or a list of records) and returns the result.

        Args:
            data: A .jsonl/.json/.csv/.parquet/.txt file, or records as dicts.
            steps: Optimizer steps; overrides the settings.
            epochs: Passes over the data, when steps is not given.
            output: Runs folder (default: the user data folder).
            on_event: Called with every protocol event (a dict), in this thread.

        Raises:
            BackpropError: Bad data, settings or model (nothing is trained), or a failure
                during training (the last checkpoint stays resumable).
        """
        runs_root = Path(output) if output else RunStore().root
        if not isinstance(data, (str, Path)):
            data = _write_records(list(data), runs_root)
        settings = dict(self._overrides)
        if steps is not None:
            settings["steps"] = steps
        if epochs is not None:
            settings["epochs"] = epochs
        job = {"data": str(data), "settings": settings, "runs_root": str(runs_root)}
        return self._run(job, on_event)

    def resume(self, run_id: str, *, output: str | Path | None = None,
               on_event: Callable[[dict[str, Any]], None] | None = None) -> TrainResult:
        """Continues a stopped or crashed run from its last checkpoint."""
        runs_root = Path(output) if output else RunStore().root
        return self._run({"resume_run": run_id, "runs_root": str(runs_root)}, on_event)

    def stop(self) -> None:
        """Asks a running ``train`` (in another thread) to checkpoint and return."""
        self._controls.send("stop")

    def save(self, path: str | Path) -> Path:
        """Copies the trained adapter to ``path`` (a new or empty folder).

        Raises:
            BackpropError: Nothing trained yet, or ``path`` is a non-empty folder (nothing in
                it is ever replaced).
        """
        if self.result is None or not self.result.adapter_path:
            raise BackpropError("CHECKPOINT_NOT_FOUND", "no trained adapter to save yet",
                                hint="Call train() first.")
        target = Path(path)
        if target.exists() and any(target.iterdir()):
            raise BackpropError("CONFIG_INVALID", f"{target} exists and is not empty",
                                where=str(target), hint="Choose a new or empty folder.")
        tmp = target.with_name(f".{target.name}.partial")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(self.result.adapter_path, tmp)
        if target.exists():
            target.rmdir()
        tmp.rename(target)
        return target

    def _run(self, job: dict[str, Any], on_event: Any) -> TrainResult:
        import torch

        emit = Emitter([on_event] if on_event else [])
        hello(emit, "cuda" if torch.cuda.is_available() else "cpu")
        run_dir, saved, resume = open_run(job)
        emit.attach(EventLog(run_dir / EVENTS_FILE))
        set_run(saved["run_id"])
        try:
            self.result = run_training(run_dir, saved, emit, self._controls, resume=resume)
        finally:
            emit.close()
            RunStore(job["runs_root"]).update_index(run_dir)
        return self.result


def _write_records(records: list[dict[str, Any]], runs_root: Path) -> Path:
    """Stores in-memory records as a JSONL file so the run can be resumed and inspected."""
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    path = runs_root / "datasets" / f"records-{digest}.jsonl"
    if not path.exists():
        atomic_write_text(path, text)
    return path
