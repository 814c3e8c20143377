"""The engine worker as a Qt object: one ``QProcess``, the JSON-lines protocol, a clean stop.

``EngineProcess`` owns the training worker (``<engine python> -m engine.worker job.json``);
``EngineCommand`` runs one short engine CLI call (``inspect-data``, ``list-runs``) and hands
back its JSON. Neither blocks the event loop: start failures arrive through ``errorOccurred``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

from engine.protocol import EVENT_FIELDS, PROTOCOL_VERSION, LineBuffer, command, parse_lines

logger = logging.getLogger(__name__)

#: The folder that holds the ``engine`` package; the worker runs with it as working directory
#: so that ``-m engine.worker`` resolves with any interpreter.
REPO_ROOT = Path(__file__).resolve().parent.parent

#: How long a graceful stop (finish the step, save, exit) may take before the worker is killed.
STOP_TIMEOUT_MS = 120_000
#: How long a cancelled worker gets to write its checkpoint on SIGTERM before it is killed.
CANCEL_TIMEOUT_MS = 5_000

# Required fields per event type, as sets for a cheap subset test on every event.
_REQUIRED = {kind: frozenset(fields) for kind, fields in EVENT_FIELDS.items()}

# Run states, as shown by the Train tab.
IDLE = "idle"
STARTING = "starting"
RUNNING = "running"
PAUSED = "paused"
STOPPING = "stopping"


def engine_python() -> str:
    """The interpreter that runs the engine: ``$BACKPROPAGATE_ENGINE_PYTHON`` or our own."""
    return os.environ.get("BACKPROPAGATE_ENGINE_PYTHON") or sys.executable


def default_runs_root() -> Path:
    """Where the engine keeps run folders when a job names none (same rule as the engine)."""
    home = os.environ.get("BACKPROPAGATE_HOME")
    if home:
        return Path(home).expanduser() / "runs"
    import platformdirs

    return platformdirs.user_data_path("Backpropagate", appauthor=False) / "runs"


def app_error(code: str, message: str, hint: str, where: str | None = None) -> dict[str, Any]:
    """An error raised on the app's side, shaped like a protocol ``error`` event."""
    return {"type": "error", "code": code, "message": message, "hint": hint, "where": where}


def _environment() -> QProcessEnvironment:
    env = QProcessEnvironment.systemEnvironment()
    env.insert("PYTHONUNBUFFERED", "1")
    env.insert("PYTHONIOENCODING", "utf-8")
    return env


class EngineProcess(QObject):
    """Runs one engine worker at a time and turns its streams into signals.

    Every run ends with exactly one ``sig_run_finished``, whether the worker finished, was
    stopped, failed to start, or died. Lists and dicts travel as ``object`` signals: Qt would
    otherwise convert every event to a QVariantMap and back, which costs more than parsing.
    """

    #: A batch of protocol events (dicts) read from the worker's stdout, in order.
    sig_events_received = Signal(object)
    #: Human log text: the worker's stderr and any stdout line that is not a protocol event.
    sig_log_received = Signal(str)
    #: An error to show: a protocol ``error`` event, or one raised here (start failed, died).
    sig_error_occurred = Signal(object)
    #: The run state changed (``idle``, ``starting``, ``running``, ``paused``, ``stopping``).
    sig_state_changed = Signal(str)
    #: The run is over: status (``completed``, ``stopped``, ``failed``, ``cancelled``), result.
    sig_run_finished = Signal(str, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)

        # Attributes
        self.state = IDLE
        self.run_id: str | None = None
        self.hello: dict[str, Any] | None = None
        self.bad_lines = 0
        self._stdout = LineBuffer()
        self._stderr = LineBuffer()
        self._finished_event: dict[str, Any] | None = None
        self._cancel_requested = False
        self._failure_reported = False
        self._job_file: str | None = None

        # The process
        self._process = QProcess(self)
        self._process.setProcessChannelMode(QProcess.ProcessChannelMode.SeparateChannels)
        self._process.setProcessEnvironment(_environment())
        self._process.setWorkingDirectory(str(REPO_ROOT))
        self._kill_timer = QTimer(self)
        self._kill_timer.setSingleShot(True)

        # Signals
        self._process.readyReadStandardOutput.connect(self._on_process_stdout)
        self._process.readyReadStandardError.connect(self._on_process_stderr)
        self._process.errorOccurred.connect(self._on_process_error)
        self._process.finished.connect(self._on_process_finished)
        self._kill_timer.timeout.connect(self._on_kill_timer_timeout)

    # ---- Public API

    def is_active(self) -> bool:
        """True from ``start`` until ``sig_run_finished``."""
        return self.state != IDLE

    def pid(self) -> int:
        """The worker's process id, or 0 when none runs."""
        return int(self._process.processId())

    def start_job(self, job: dict[str, Any]) -> None:
        """Writes ``job`` to a temporary job file and starts ``engine.worker`` on it."""
        fd, path = tempfile.mkstemp(prefix="backprop-job-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(job, handle, indent=2)
        self.start(engine_python(), ["-m", "engine.worker", path])
        # Set after start(), which forgets the previous run's file; removed when the run ends.
        self._job_file = path

    def start(self, program: str, arguments: list[str]) -> None:
        """Starts any program that speaks the worker protocol (the real worker, or a bench)."""
        if self.is_active():
            raise RuntimeError("a worker is already running; stop it first")

        self.run_id = None
        self.hello = None
        self.bad_lines = 0
        self._stdout = LineBuffer()
        self._stderr = LineBuffer()
        self._finished_event = None
        self._cancel_requested = False
        self._failure_reported = False

        logger.info("starting worker: %s %s", program, " ".join(arguments))
        self._set_state(STARTING)
        self._process.start(program, arguments)

    def pause(self) -> None:
        """Asks the worker to hold after the current step."""
        self._send("pause")

    def resume(self) -> None:
        """Asks a paused worker to go on."""
        self._send("resume")

    def save_checkpoint(self) -> None:
        """Asks the worker to write a checkpoint after the current step."""
        self._send("checkpoint")

    def stop(self, timeout_ms: int = STOP_TIMEOUT_MS) -> None:
        """Asks the worker to save and exit; kills it if it has not exited by ``timeout_ms``."""
        if self.state in (IDLE, STOPPING):
            return
        if self.state == STARTING and self.hello is None:
            # Nothing to save yet: the model is still loading.
            self.cancel()
            return
        self._send("stop")
        self._set_state(STOPPING)
        self._kill_timer.start(timeout_ms)

    def cancel(self) -> None:
        """Ends the run without a final save (SIGTERM lets the worker checkpoint, then kill)."""
        if not self.is_active():
            return
        self._cancel_requested = True
        self._set_state(STOPPING)
        if sys.platform == "win32":
            # terminate() sends WM_CLOSE, which a console worker ignores.
            self._process.kill()
        else:
            self._process.terminate()
            self._kill_timer.start(CANCEL_TIMEOUT_MS)

    def shutdown(self, wait_ms: int = 3000) -> None:
        """Kills a worker that is still running and waits for it; for application exit."""
        if self._process.state() != QProcess.ProcessState.NotRunning:
            self._cancel_requested = True
            self._process.kill()
            self._process.waitForFinished(wait_ms)

    # ---- Internals

    def _send(self, name: str) -> None:
        if self._process.state() != QProcess.ProcessState.Running:
            logger.warning("not sending %r: no worker is running", name)
            return
        self._process.write(command(name).encode("utf-8"))

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.sig_state_changed.emit(state)

    def _report_failure(self, error: dict[str, Any]) -> None:
        self._failure_reported = True
        logger.error("%s: %s", error["code"], error["message"])
        self.sig_error_occurred.emit(error)

    def _handle_lines(self, lines: list[str]) -> None:
        events, other = parse_lines(lines)
        # NOTE: parse_lines' one-array fast path checks event types but not their required
        # fields; an incomplete event is treated like any other bad line.
        if any(not _REQUIRED[e["type"]] <= e.keys() for e in events):
            complete = [e for e in events if _REQUIRED[e["type"]] <= e.keys()]
            other += [json.dumps(e) for e in events if not _REQUIRED[e["type"]] <= e.keys()]
            events = complete
        if other:
            self.bad_lines += len(other)
            self.sig_log_received.emit("\n".join(other))
        if not events:
            return

        # Step events are the bulk; only the rare kinds change state here.
        for event in events:
            kind = event["type"]
            if kind == "step":
                continue
            if kind == "hello":
                self._on_hello(event)
            elif kind == "config":
                self.run_id = event.get("run_id")
            elif kind == "paused":
                self._set_state(PAUSED)
            elif kind == "resumed":
                self._set_state(RUNNING)
            elif kind == "error":
                self.sig_error_occurred.emit(event)
            elif kind == "finished":
                self._finished_event = event
        self.sig_events_received.emit(events)

    def _on_hello(self, event: dict[str, Any]) -> None:
        self.hello = event
        version = event.get("protocol")
        if version != PROTOCOL_VERSION:
            self._report_failure(
                app_error(
                    "PROTOCOL_MISMATCH",
                    f"The engine speaks protocol version {version}; this app speaks version "
                    f"{PROTOCOL_VERSION}.",
                    "Install the app and the engine from the same release (update the older one).",
                )
            )
            self._process.kill()
            return
        if self.state == STARTING:
            self._set_state(RUNNING)

    def _on_process_stdout(self) -> None:
        self._handle_lines(self._stdout.feed(self._process.readAllStandardOutput().data()))

    def _on_process_stderr(self) -> None:
        lines = self._stderr.feed(self._process.readAllStandardError().data())
        if lines:
            self.sig_log_received.emit("\n".join(lines))

    def _on_process_error(self, error: QProcess.ProcessError) -> None:
        if error != QProcess.ProcessError.FailedToStart:
            # Crashes also end in ``finished``, which reports them.
            logger.debug("worker process error: %s", error)
            return
        program = self._process.program()
        self._report_failure(
            app_error(
                "WORKER_START_FAILED",
                f"The engine could not be started: {program}: {self._process.errorString()}",
                "Check that the engine's Python exists (set BACKPROPAGATE_ENGINE_PYTHON to it) "
                "and is executable.",
                where=program,
            )
        )
        self._end_run("failed", {})

    def _on_process_finished(self, exit_code: int, exit_status: QProcess.ExitStatus) -> None:
        # Drain what is left, including a last line without a newline.
        self._on_process_stdout()
        self._on_process_stderr()
        self._handle_lines(self._stdout.flush())
        rest = self._stderr.flush()
        if rest:
            self.sig_log_received.emit("\n".join(rest))

        finished = self._finished_event
        if finished is not None:
            status, result = str(finished.get("status", "failed")), finished.get("result") or {}
        elif self._cancel_requested:
            status, result = "cancelled", {}
        else:
            status, result = "failed", {}
            if not self._failure_reported:
                how = (
                    "crashed or was killed"
                    if exit_status == QProcess.ExitStatus.CrashExit
                    else f"exited with code {exit_code}"
                )
                self._report_failure(
                    app_error(
                        "WORKER_DIED",
                        f"The engine worker {how} before the run finished.",
                        "See the log for the last messages. Completed checkpoints are kept; "
                        "resume the run from the Runs tab or with `backprop resume <run-id>`.",
                        where=self.run_id,
                    )
                )
        logger.info("worker ended: status %s, exit code %s", status, exit_code)
        self._end_run(status, result)

    def _on_kill_timer_timeout(self) -> None:
        if self._process.state() != QProcess.ProcessState.NotRunning:
            logger.warning("worker did not exit in time; killing it")
            self._process.kill()

    def _end_run(self, status: str, result: dict[str, Any]) -> None:
        self._kill_timer.stop()
        if self._job_file:
            Path(self._job_file).unlink(missing_ok=True)
            self._job_file = None
        self._set_state(IDLE)
        self.sig_run_finished.emit(status, result)


@dataclass
class CommandResult:
    """What one engine CLI call returned."""

    exit_code: int
    data: Any = None
    stderr: str = ""
    error: dict[str, Any] | None = None
    arguments: list[str] = field(default_factory=list)


class EngineCommand(QObject):
    """One short engine CLI call (``python -m engine <args> --json``), run asynchronously.

    The object deletes itself after ``sig_command_finished``.
    """

    #: The call ended; carries a ``CommandResult`` (``data`` is the parsed JSON stdout).
    sig_command_finished = Signal(object)

    def __init__(self, arguments: list[str], parent: QObject | None = None) -> None:
        super().__init__(parent)

        # Attributes
        self.arguments = list(arguments)
        self._done = False

        # The process
        self._process = QProcess(self)
        self._process.setProcessEnvironment(_environment())
        self._process.setWorkingDirectory(str(REPO_ROOT))

        # Signals
        self._process.errorOccurred.connect(self._on_process_error)
        self._process.finished.connect(self._on_process_finished)

    def start(self) -> None:
        """Starts the call; the answer comes through ``sig_command_finished``."""
        logger.debug("engine command: %s", " ".join(self.arguments))
        self._process.start(engine_python(), ["-m", "engine", *self.arguments])

    def abort(self) -> None:
        """Kills the call; no signal follows."""
        self._done = True
        if self._process.state() != QProcess.ProcessState.NotRunning:
            self._process.kill()
            self._process.waitForFinished(1000)
        self.deleteLater()

    def _emit(self, result: CommandResult) -> None:
        if self._done:
            return
        self._done = True
        self.sig_command_finished.emit(result)
        self.deleteLater()

    def _on_process_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self._emit(
                CommandResult(
                    -1,
                    error=app_error(
                        "WORKER_START_FAILED",
                        f"The engine could not be started: {self._process.errorString()}",
                        "Check that the engine's Python exists (set BACKPROPAGATE_ENGINE_PYTHON).",
                    ),
                    arguments=self.arguments,
                )
            )

    def _on_process_finished(self, exit_code: int, exit_status: QProcess.ExitStatus) -> None:
        stdout = self._process.readAllStandardOutput().data().decode("utf-8", "replace")
        stderr = self._process.readAllStandardError().data().decode("utf-8", "replace")
        result = CommandResult(exit_code, stderr=stderr, arguments=self.arguments)
        try:
            result.data = json.loads(stdout) if stdout.strip() else None
        except ValueError:
            result.data = None
        crashed = exit_status != QProcess.ExitStatus.NormalExit
        if result.data is None and (exit_code != 0 or crashed):
            last = stderr.strip().splitlines()[-1:] or ["no output"]
            result.error = app_error(
                "ENGINE_COMMAND_FAILED",
                f"`engine {' '.join(self.arguments[:1])}` failed (exit code {exit_code}): "
                f"{last[0]}",
                "See the log for details; check that the engine is installed completely.",
            )
        self._emit(result)
