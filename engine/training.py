"""The training recipe: set up, train step by step, checkpoint, and clean up.

One loop serves the worker, the CLI and the Python API. It owns everything that makes a run
resumable to the same result: the data order is a pure function of (seed, step), and the
optimizer, scheduler and RNG states go into every checkpoint. Events go out through an
``Emitter``; commands (pause, resume, checkpoint, stop) come in through ``Controls``.
"""

from __future__ import annotations

import logging
import math
import queue
import random
import shutil
import statistics
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from engine import __version__, thermal
from engine.checkpoint import (
    latest_valid,
    load_state,
    prune,
    remove_partials,
    save_checkpoint,
)
from engine.config import DEFAULT_EPOCHS, Settings
from engine.data import IGNORE_INDEX, Example, load_dataset, render_records, split_eval
from engine.errors import BackpropError, redact
from engine.logs import redacting
from engine.memory import ModelShape
from engine.protocol import PROTOCOL_VERSION, make_event
from engine.runs import EventLog, atomic_write_text, file_sha256, fsync_dir

logger = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """What a run produced. ``loss_history`` holds (step, loss) pairs."""

    run_id: str
    run_dir: str
    status: str
    steps: int
    total_steps: int
    final_loss: float | None
    adapter_path: str | None
    loss_history: list[tuple[int, float]] = field(default_factory=list)
    eval_history: list[tuple[int, float]] = field(default_factory=list)
    #: The trained PEFT model, in memory, when the run trained in this process.
    model: Any = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "model"}


class Emitter:
    """Sends protocol events to the run's event log and to any number of sinks.

    Events emitted before the run folder exists (``hello``) are held and written to the log
    once it is attached, so ``events.jsonl`` always starts with the full story.
    """

    def __init__(self, sinks: list[Callable[[dict[str, Any]], None]] | None = None) -> None:
        self.sinks = list(sinks or [])
        self._log: EventLog | None = None
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def attach(self, log: EventLog) -> None:
        with self._lock:
            self._log = log
            for event in self._pending:
                log.write(event)
            self._pending.clear()

    def __call__(self, event_type: str, **fields: Any) -> dict[str, Any]:
        if redacting():
            # Messages often quote exceptions, which may quote a URL or header with a token;
            # the app shows them and events.jsonl keeps them.
            for key in ("message", "hint"):
                if isinstance(fields.get(key), str):
                    fields[key] = redact(fields[key])
        event = make_event(event_type, **fields)
        with self._lock:
            if self._log is not None:
                self._log.write(event)
            else:
                self._pending.append(event)
            for sink in self.sinks:
                sink(event)
        return event

    def close(self) -> None:
        if self._log is not None:
            self._log.close()


class Controls:
    """Commands for a running loop, from stdin, a signal handler or another thread."""

    def __init__(self) -> None:
        self._queue: queue.Queue[str] = queue.Queue()

    def send(self, command: str) -> None:
        self._queue.put(command)

    def poll(self) -> list[str]:
        out = []
        while True:
            try:
                out.append(self._queue.get_nowait())
            except queue.Empty:
                return out

    def wait(self, timeout: float) -> str | None:
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None


class _Stop(Exception):
    """Raised inside the loop when a stop was requested; carries the exit reason."""

    def __init__(self, interrupted: bool) -> None:
        self.interrupted = interrupted


def hello(emit: Emitter, device: str) -> None:
    import os

    import torch

    emit("hello", protocol=PROTOCOL_VERSION, engine_version=__version__,
         torch_version=torch.__version__, device=device, pid=os.getpid())


def run_training(
    run_dir: Path,
    job: dict[str, Any],
    emit: Emitter,
    controls: Controls,
    *,
    resume: bool = False,
) -> TrainResult:
    """Runs (or resumes) the job in ``run_dir`` to completion, a stop, or a failure.

    Errors are reported as ``error`` + ``finished`` events and re-raised for the caller to pick
    an exit code; the last complete checkpoint is never touched by a failure.
    """
    session = _Session(run_dir, job, emit, controls)
    try:
        return session.run(resume)
    except _Stop as stop:
        return session.finish("stopped", interrupted=stop.interrupted)
    except BackpropError as exc:
        emit("error", **exc.to_dict())
        session.finish("failed")
        raise
    except Exception as exc:  # noqa: BLE001 - every failure must reach the user with a code
        logger.error("training failed:\n%s", traceback.format_exc())
        error = _classify(exc)
        emit("error", **error.to_dict())
        session.finish("failed")
        raise error from exc


def _classify(exc: Exception) -> BackpropError:
    import torch

    if isinstance(exc, torch.OutOfMemoryError):
        return BackpropError("OUT_OF_MEMORY", str(exc).splitlines()[0])
    return BackpropError("TRAINING_FAILED", f"{type(exc).__name__}: {exc}")


class _Session:
    """The state of one run while it trains; ``run_training`` drives it."""

    def __init__(self, run_dir: Path, job: dict[str, Any], emit: Emitter,
                 controls: Controls) -> None:
        self.run_dir = run_dir
        self.job = job
        self.emit = emit
        self.controls = controls
        self.settings = Settings.from_dict(job["settings"])
        self.run_id = job["run_id"]
        self.step = 0
        self.total = 0
        self.loss_history: list[tuple[int, float]] = []
        self.eval_history: list[tuple[int, float]] = []
        self.elapsed_before = 0.0
        self.model: Any = None
        self.trackers: list[Any] = []
        self.last_checkpoint_step = -1
        self.adapter_path: str | None = None

    # --- set-up ---

    def run(self, resume: bool) -> TrainResult:
        import torch

        from engine import hardware, models

        s = self.settings
        checkpoint = None
        if resume:
            remove_partials(self.run_dir / "checkpoints")
            found = latest_valid(self.run_dir / "checkpoints")
            if found is None:
                raise BackpropError("CHECKPOINT_NOT_FOUND", f"run {self.run_id} has no complete "
                                    "checkpoint", where=str(self.run_dir / "checkpoints"))
            checkpoint = found[0]
            self._check_data_unchanged()

        # Validate everything the user gave us before any weights load.
        dataset = load_dataset(self.job["data"], strict=not s.data.skip_invalid)
        for problem in dataset.problems:
            self.emit("warning", code=problem.code, where=problem.where,
                      message=f"skipped {problem.where}: {problem.message}")
        hw = hardware.probe()
        model_path, model_reason = models.resolve_model_name(s.model, hw.cuda)
        logger.info("model: %s (%s)", model_path, model_reason)
        models.fetch_model(model_path, lambda done, total: self.emit(
            "download", model=model_path, done=done, total=total))
        model_config = models.read_model_config(model_path)
        choices = hardware.resolve_auto(s, hw, ModelShape.from_config(model_config))
        choices.reasons["model"] = model_reason
        self._save_resolved_job(model_path, choices)
        self.emit("config", run_id=self.run_id, run_dir=str(self.run_dir), config=s.to_dict(),
                  choices=choices.to_dict(), model_path=model_path, resumed=resume,
                  resumed_from=checkpoint.name if checkpoint else None)

        tokenizer = models.load_tokenizer(model_path)
        report = render_records(dataset.records, tokenizer, s.data.max_length)
        for where in report.dropped[:20]:
            self.emit("warning", code="DATA_NO_TRAINABLE_TOKENS",
                      message=f"{where}: nothing to train after truncation; skipped")
        train_idx, eval_idx = split_eval(len(report.examples), s.data.eval_fraction,
                                         s.data.eval_min_rows, s.seed)
        self.train_set = [report.examples[i] for i in train_idx]
        self.eval_set = [report.examples[i] for i in eval_idx]
        self.emit("dataset", format=dataset.format, rows=len(dataset.records),
                  train_rows=len(self.train_set), eval_rows=len(self.eval_set),
                  tokens=report.tokens, trained_tokens=report.trained_tokens,
                  truncated=report.truncated, dropped=len(report.dropped),
                  mask=report.mask_method)
        if report.truncated:
            self.emit("warning", code="DATA_TRUNCATED",
                      message=f"{report.truncated} record(s) longer than data.max_length="
                              f"{s.data.max_length} were cut")

        # Weights.
        torch.manual_seed(s.seed)
        random.seed(s.seed)
        base = models.load_model(model_path, choices, hw, s.data.max_length)
        self.model = models.add_lora(base, s.lora, choices, s.seed)
        self.device = torch.device(choices.device)
        self.choices = choices
        self.thermal = thermal.ThermalGuard(thermal.gpu_temperature_reader(self.device),
                                            s.thermal_pause_c, s.thermal_resume_c)
        self.padding_free = (s.padding_free and
                             base.config.model_type in models.PADDING_FREE_TYPES)
        self.pad_id = tokenizer.pad_token_id
        trainable = sum(p.numel() for p in self.model.parameters() if p.requires_grad)
        total_params = sum(p.numel() for p in self.model.parameters())
        logger.info("trainable parameters: %d of %d (%.2f%%)", trainable, total_params,
                    100 * trainable / max(total_params, 1))

        self.batch_size = choices.batch_size
        per_step = self.batch_size * s.grad_accum
        self.steps_per_epoch = max(1, math.ceil(len(self.train_set) / per_step))
        if s.steps:
            self.total = s.steps
        else:
            self.total = max(1, math.ceil((s.epochs or DEFAULT_EPOCHS) * self.steps_per_epoch))
        self.splits = 1

        params = [p for p in self.model.parameters() if p.requires_grad]
        self.params = params
        self.optimizer = torch.optim.AdamW(params, lr=s.learning_rate,
                                           weight_decay=s.weight_decay)
        warmup = math.ceil(s.warmup_ratio * self.total)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, _lr_lambda(s.lr_scheduler, warmup, self.total))
        self.scaler = (torch.amp.GradScaler("cuda")
                       if choices.precision == "fp16" and hw.cuda else None)

        if checkpoint is not None:
            self._restore(checkpoint)
        from engine.trackers import open_trackers

        self.trackers = open_trackers(s.report_to, self.run_dir, s.to_dict(), self.emit)
        return self._train()

    def _check_data_unchanged(self) -> None:
        """A resume needs the file the run started on; a changed one is trained, with a warning."""
        path = Path(self.job["data"])
        if not path.is_file():
            raise BackpropError("DATA_NOT_FOUND", f"run {self.run_id} trained on {path}, which "
                                "is no longer there", where="data",
                                hint="Put the file back at that path to resume the run.")
        expected = self.job.get("data_sha256")
        if expected and file_sha256(path) != expected:
            self.emit("warning", code="DATA_CHANGED",
                      message=f"{path.name} changed since the run started; the remaining steps "
                              "train on its new contents, so the result will differ from an "
                              "uninterrupted run")

    def _save_resolved_job(self, model_path: str, choices: Any) -> None:
        import json

        resolved = {**self.job, "settings": self.settings.to_dict(), "model_path": model_path,
                    "choices": choices.to_dict()}
        atomic_write_text(self.run_dir / "job.json", json.dumps(resolved, indent=2))

    def _restore(self, path: Path) -> None:
        import numpy as np
        import torch
        from peft import set_peft_model_state_dict
        from safetensors.torch import load_file

        weights = load_file(str(path / "adapter" / "adapter_model.safetensors"))
        result = set_peft_model_state_dict(self.model, weights)
        if getattr(result, "unexpected_keys", None):
            raise BackpropError("CHECKPOINT_INVALID", "adapter weights do not fit the model",
                                where=str(path))
        state = load_state(path)
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if self.scaler is not None and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        trainer = state["trainer"]
        self.step = trainer["step"]
        self.splits = trainer.get("splits", 1)
        self.loss_history = [tuple(x) for x in trainer["loss_history"]]
        self.eval_history = [tuple(x) for x in trainer["eval_history"]]
        self.elapsed_before = trainer["elapsed"]
        self.last_checkpoint_step = self.step
        if trainer["total"] != self.total:
            raise BackpropError("CHECKPOINT_INVALID", f"checkpoint was for {trainer['total']} "
                                f"steps, the job now has {self.total}", where=str(path))
        rng = state["rng"]
        random.setstate(rng["python"])
        np.random.set_state(rng["numpy"])
        torch.set_rng_state(rng["torch"])
        if rng.get("cuda") is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])
        logger.info("resumed from %s at step %d of %d", path.name, self.step, self.total)

    # --- the loop ---

    def _train(self) -> TrainResult:

        s = self.settings
        self.model.train()
        started = time.monotonic()
        recent: list[tuple[float, int]] = []  # (seconds, real tokens) of the last steps
        while self.step < self.total:
            self._handle_commands()
            self._hold_while_hot()
            t0 = time.monotonic()
            loss, grad_norm, tokens = self._optimizer_step(self.step)
            dt = time.monotonic() - t0
            self.step += 1
            if not math.isfinite(loss):
                raise BackpropError("TRAINING_DIVERGED", f"loss is {loss} at step {self.step}")
            self.loss_history.append((self.step, loss))

            recent = (recent + [(dt, tokens)])[-20:]
            step_time = statistics.median(t for t, _ in recent)
            tokens_per_s = sum(n for _, n in recent) / max(sum(t for t, _ in recent), 1e-9)
            elapsed = self.elapsed_before + time.monotonic() - started
            lr = self.scheduler.get_last_lr()[0]
            self.emit("step", step=self.step, total=self.total, loss=loss,
                      lr=self._lr_used, grad_norm=grad_norm, tokens_per_s=tokens_per_s,
                      elapsed=elapsed, eta=step_time * (self.total - self.step),
                      epoch=self.step / self.steps_per_epoch, tokens=tokens, next_lr=lr)
            for tracker in self.trackers:
                tracker.log({"train/loss": loss, "train/lr": self._lr_used,
                             "train/grad_norm": grad_norm, "train/tokens_per_s": tokens_per_s},
                            self.step)

            if self.eval_set and s.eval_every and self.step % s.eval_every == 0:
                self._evaluate()
            if s.checkpoint_every and self.step % s.checkpoint_every == 0:
                self._checkpoint(elapsed)
            self.elapsed = elapsed

        if self.eval_set and (not self.eval_history or self.eval_history[-1][0] != self.step):
            self._evaluate()
        self.elapsed = self.elapsed_before + time.monotonic() - started
        return self.finish("completed")

    def _handle_commands(self) -> None:
        """Acts on commands between steps; a pause holds here until resume or stop."""
        for command in self.controls.poll():
            self._apply(command)

    def _apply(self, command: str) -> None:
        if command in ("stop", "interrupt"):
            raise _Stop(interrupted=command == "interrupt")
        if command == "checkpoint":
            self._checkpoint(getattr(self, "elapsed", self.elapsed_before))
        elif command == "pause":
            self.emit("paused", step=self.step, reason="user")
            while True:
                command = self.controls.wait(0.2)
                if command == "resume":
                    self.emit("resumed", step=self.step)
                    return
                if command in ("stop", "interrupt"):
                    raise _Stop(interrupted=command == "interrupt")
                if command == "checkpoint":
                    self._checkpoint(getattr(self, "elapsed", self.elapsed_before))

    def _hold_while_hot(self) -> None:
        """A thermal pause: holds between steps until the GPU cools, a stop, or a cancel.

        The numbers do not change: the next step is the same whenever it runs. A user's
        pause that arrives meanwhile is kept for after the cool-down; a user's resume cannot
        end a thermal pause early (the GPU decides), which the run says in a warning.
        """
        temperature = self.thermal.too_hot()
        if temperature is None:
            return
        s = self.settings
        logger.warning("GPU at %d °C: holding training until it cools to %d °C", temperature,
                       s.thermal_resume_c)
        self.emit("paused", step=self.step, reason="thermal", temperature=temperature,
                  resume_at=s.thermal_resume_c)
        user_paused = False
        while True:
            command = self.controls.wait(thermal.COOL_POLL_S)
            if command in ("stop", "interrupt"):
                raise _Stop(interrupted=command == "interrupt")
            if command == "checkpoint":
                self._checkpoint(getattr(self, "elapsed", self.elapsed_before))
            elif command == "pause":
                user_paused = True
            elif command == "resume":
                user_paused = False
                self.emit("warning", code="THERMAL_PAUSE",
                          message=f"the GPU is still too hot; training goes on by itself at "
                                  f"{s.thermal_resume_c} °C")
            cool, temperature = self.thermal.cooled()
            if cool:
                break
        logger.info("GPU at %s °C: training goes on", temperature)
        self.emit("resumed", step=self.step, reason="thermal", temperature=temperature)
        if user_paused:
            self._apply("pause")

    def _batch_indices(self, step: int) -> list[int]:
        """The examples of optimizer step ``step``: a pure function of seed and step."""
        import torch

        epoch, k = divmod(step, self.steps_per_epoch)
        n = len(self.train_set)
        if self.settings.data.shuffle:
            gen = torch.Generator().manual_seed(self.settings.seed * 1000003 + epoch)
            order = torch.randperm(n, generator=gen).tolist()
        else:
            order = list(range(n))
        per_step = self.batch_size * self.settings.grad_accum
        chunk = order[k * per_step:(k + 1) * per_step]
        return chunk or order[:per_step]

    def _optimizer_step(self, step: int) -> tuple[float, float, int]:
        """One optimizer step over grad_accum micro-batches; returns loss, grad norm, tokens.

        On a CUDA out-of-memory error the micro-batches are split in two and the step is
        redone: the gradient is the same sum, so the run's numbers do not change.
        """
        import torch

        indices = self._batch_indices(step)
        examples = [self.train_set[i] for i in indices]
        while True:
            try:
                return self._accumulate(examples)
            except torch.OutOfMemoryError:
                self.optimizer.zero_grad(set_to_none=True)
                if self.device.type == "cuda":
                    torch.cuda.empty_cache()
                largest = max(1, math.ceil(self.batch_size / self.splits))
                if largest <= 1:
                    raise
                self.splits *= 2
                self.emit("warning", code="OUT_OF_MEMORY",
                          message=f"out of memory at step {step + 1}; splitting each batch "
                                  f"into {self.splits} parts (same effective batch)")

    def _accumulate(self, examples: list[Example]) -> tuple[float, float, int]:
        import torch

        s = self.settings
        parts = max(1, math.ceil(len(examples) / self.batch_size)) * self.splits
        size = max(1, math.ceil(len(examples) / parts))
        chunks = [examples[i:i + size] for i in range(0, len(examples), size)]
        counts = [_label_count(c) for c in chunks]
        total_labels = max(1, sum(counts))

        self._lr_used = self.scheduler.get_last_lr()[0]
        loss_sum, real_tokens = 0.0, 0
        for chunk, count in zip(chunks, counts, strict=True):
            if count == 0:
                continue
            batch = self._collate(chunk)
            real_tokens += sum(len(e.input_ids) for e in chunk)
            with self._autocast():
                out = self.model(**batch, use_cache=False)
            # out.loss is the mean over this chunk's tokens; weight it to the step's mean.
            scaled = out.loss.float() * (count / total_labels)
            if self.scaler is not None:
                self.scaler.scale(scaled).backward()
            else:
                scaled.backward()
            loss_sum += out.loss.item() * count

        if self.scaler is not None:
            self.scaler.unscale_(self.optimizer)
        max_norm = s.max_grad_norm if s.max_grad_norm > 0 else float("inf")
        grad_norm = float(torch.nn.utils.clip_grad_norm_(self.params, max_norm))
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return loss_sum / total_labels, grad_norm, real_tokens

    def _collate(self, chunk: list[Example]) -> dict[str, Any]:
        return collate(chunk, self.padding_free, self.pad_id, self.device)

    def _autocast(self) -> Any:
        import contextlib

        import torch

        if self.device.type == "cuda" and self.choices.precision in ("bf16", "fp16"):
            dtype = torch.bfloat16 if self.choices.precision == "bf16" else torch.float16
            return torch.autocast("cuda", dtype=dtype)
        return contextlib.nullcontext()

    def _evaluate(self) -> float:
        import torch

        self.model.eval()
        total, count = 0.0, 0
        with torch.no_grad():
            for i in range(0, len(self.eval_set), self.batch_size):
                chunk = self.eval_set[i:i + self.batch_size]
                n = _label_count(chunk)
                if n == 0:
                    continue
                with self._autocast():
                    out = self.model(**self._collate(chunk), use_cache=False)
                total += out.loss.item() * n
                count += n
        self.model.train()
        eval_loss = total / max(count, 1)
        self.eval_history.append((self.step, eval_loss))
        self.emit("eval", step=self.step, eval_loss=eval_loss)
        for tracker in self.trackers:
            tracker.log({"eval/loss": eval_loss}, self.step)
        return eval_loss

    # --- saving and finishing ---

    def _checkpoint(self, elapsed: float) -> None:
        import numpy as np
        import torch

        if self.model is None or self.step == 0 or self.step == self.last_checkpoint_step:
            return
        state = {
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "rng": {
                "python": random.getstate(),
                "numpy": np.random.get_state(),
                "torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
            },
            "trainer": {
                "step": self.step, "total": self.total, "splits": self.splits,
                "loss_history": self.loss_history, "eval_history": self.eval_history,
                "elapsed": elapsed,
            },
        }
        info = {"total": self.total, "loss": self.loss_history[-1][1] if self.loss_history
                else None, "run_id": self.run_id}
        path = save_checkpoint(self.run_dir / "checkpoints", self.step, self.model, state, info)
        self.last_checkpoint_step = self.step
        prune(self.run_dir / "checkpoints", self.settings.keep_checkpoints)
        self.emit("checkpoint", step=self.step, path=str(path))

    def _save_adapter(self) -> str:
        """Writes the final adapter as ``adapter/``, replacing this run's previous one whole."""
        final = self.run_dir / "adapter"
        tmp = self.run_dir / ".adapter.partial"
        if tmp.exists():
            shutil.rmtree(tmp)
        self.model.save_pretrained(tmp)
        fsync_dir(tmp)
        if final.exists():
            old = self.run_dir / ".adapter.old"
            shutil.rmtree(old, ignore_errors=True)
            final.rename(old)
            tmp.rename(final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(final)
        fsync_dir(self.run_dir)
        return str(final)

    def finish(self, status: str, interrupted: bool = False) -> TrainResult:
        """Saves what the status calls for and emits ``finished``; safe to call once."""
        if status in ("completed", "stopped") and self.model is not None and self.step > 0:
            if status == "stopped":
                self._checkpoint(getattr(self, "elapsed", self.elapsed_before))
            self.adapter_path = self._save_adapter()
        for tracker in self.trackers:
            tracker.close()
        result = TrainResult(
            run_id=self.run_id, run_dir=str(self.run_dir), status=status, steps=self.step,
            total_steps=self.total,
            final_loss=self.loss_history[-1][1] if self.loss_history else None,
            adapter_path=self.adapter_path, loss_history=list(self.loss_history),
            eval_history=list(self.eval_history), model=self.model,
        )
        summary = result.to_dict()
        # The event carries a thinned history; the full one is in the step events.
        summary["loss_history"] = _thin(result.loss_history, 200)
        self.emit("finished", status=status, result=summary, interrupted=interrupted)
        return result


def collate(chunk: list[Example], padding_free: bool, pad_id: int, device: Any) -> dict[str, Any]:
    """Builds model inputs for a micro-batch.

    Padding-free: all examples in one row, positions restarting at 0 for each, and the first
    label of each example masked so no example learns from its neighbour's last token.
    Padded: right-padded rows with an attention mask.
    """
    import torch

    if padding_free:
        ids, pos, labels = [], [], []
        for example in chunk:
            ids.extend(example.input_ids)
            pos.extend(range(len(example.input_ids)))
            labels.extend([IGNORE_INDEX] + example.labels[1:])
        return {
            "input_ids": torch.tensor([ids], device=device),
            "position_ids": torch.tensor([pos], device=device),
            "labels": torch.tensor([labels], device=device),
        }
    width = max(len(e.input_ids) for e in chunk)
    ids = [e.input_ids + [pad_id] * (width - len(e.input_ids)) for e in chunk]
    mask = [[1] * len(e.input_ids) + [0] * (width - len(e.input_ids)) for e in chunk]
    labels = [e.labels + [IGNORE_INDEX] * (width - len(e.labels)) for e in chunk]
    return {
        "input_ids": torch.tensor(ids, device=device),
        "attention_mask": torch.tensor(mask, device=device),
        "labels": torch.tensor(labels, device=device),
    }


def _label_count(chunk: list[Example]) -> int:
    """Tokens that contribute to the loss: labelled ones after the one-token shift."""
    return sum(sum(1 for x in e.labels[1:] if x != IGNORE_INDEX) for e in chunk)


def _lr_lambda(kind: str, warmup: int, total: int) -> Callable[[int], float]:
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        if kind == "constant":
            return 1.0
        progress = (step - warmup) / max(1, total - warmup)
        if kind == "linear":
            return max(0.0, 1.0 - progress)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return factor


def _thin(history: list[tuple[int, float]], limit: int) -> list[tuple[int, float]]:
    if len(history) <= limit:
        return list(history)
    stride = math.ceil(len(history) / limit)
    thinned = history[::stride]
    return thinned if thinned[-1] == history[-1] else thinned + [history[-1]]
