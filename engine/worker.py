"""The engine worker process: ``python -m engine.worker job.json``.

stdout carries protocol events only (one flushed JSON line each), stderr carries logs, stdin
takes commands. Exit codes are ``engine.protocol.EXIT_*``; ``docs/protocol.md`` has the whole
contract.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from typing import Any

from engine import protocol
from engine.errors import BackpropError
from engine.jobs import open_run, read_job_file
from engine.logs import set_run, setup_logging
from engine.runs import EVENTS_FILE, LOCK_FILE, EventLog, RunStore

logger = logging.getLogger("engine.worker")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.worker",
                                     description="Run one training job, speaking the protocol.")
    parser.add_argument("job", help="path to the job JSON file")
    parser.add_argument("--verbose", action="store_true", help="debug logs, no redaction")
    args = parser.parse_args(argv)

    # A frozen or piped stdout may default to a legacy code page; the protocol is UTF-8.
    out = sys.stdout
    if out is None:
        sys.stderr.write("engine.worker: no stdout to write events to\n")
        return protocol.EXIT_RUNTIME_FAILURE
    out.reconfigure(encoding="utf-8", newline="\n")
    # NOTE: tqdm bars redraw with carriage returns, which a log pane shows as a pile of
    # half-lines; the worker reports progress through step events instead.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    setup_logging(args.verbose or os.environ.get("BACKPROPAGATE_VERBOSE") == "1")

    app_gone = threading.Event()

    def write_stdout(event: dict[str, Any]) -> None:
        if app_gone.is_set():
            return
        try:
            out.write(protocol.encode(event))
            out.flush()
        except OSError:
            # The reader (the app) is gone, e.g. it crashed. The run must not die with it:
            # training goes on, events still reach events.jsonl, and the Runs view shows the
            # run as running, then finished. stdout points at the null device from here on so
            # that the final flush at exit cannot fail either.
            app_gone.set()
            _detach_stdout(out)
            logger.warning("the app stopped reading events; training goes on, events are "
                           "still written to the run's events.jsonl")

    from engine.training import Controls, Emitter, hello, run_training

    emit = Emitter([write_stdout])
    controls = Controls()
    import torch

    hello(emit, "cuda" if torch.cuda.is_available() else "cpu")
    _read_commands(controls, emit)
    _route_signals(controls)

    try:
        job = read_job_file(args.job)
        run_dir, saved, resume = open_run(job)
    except BackpropError as exc:
        emit("error", **exc.to_dict())
        emit("finished", status="failed", result={})
        return exc.category

    lock = run_dir / LOCK_FILE
    lock.write_text(str(os.getpid()))
    emit.attach(EventLog(run_dir / EVENTS_FILE))
    set_run(saved["run_id"], run_dir)
    try:
        result = run_training(run_dir, saved, emit, controls, resume=resume)
        if result.status == "stopped" and _interrupted.is_set():
            return protocol.EXIT_INTERRUPTED
        return protocol.EXIT_OK
    except BackpropError as exc:
        return exc.category
    finally:
        emit.close()
        lock.unlink(missing_ok=True)
        RunStore(job.get("runs_root")).update_index(run_dir)


def _detach_stdout(out: Any) -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, out.fileno())
        os.close(devnull)
    except OSError:  # pragma: no cover - nothing more can be done for a dead stdout
        pass


def _read_commands(controls: Any, emit: Any) -> None:
    """Reads stdin on a daemon thread; bad lines are answered, never fatal."""

    def loop() -> None:
        stdin = sys.stdin
        if stdin is None:
            return
        for line in stdin:
            if not line.strip():
                continue
            try:
                controls.send(protocol.decode_command(line)["cmd"])
            except protocol.ProtocolError as exc:
                preview = line.strip()[:80]
                emit("error", code="PROTOCOL_BAD_COMMAND", message=f"{exc}: {preview!r}",
                     hint="Send one JSON object per line, e.g. {\"cmd\": \"pause\"}.",
                     where="stdin")

    threading.Thread(target=loop, name="commands", daemon=True).start()


_interrupted = threading.Event()


def _route_signals(controls: Any) -> None:
    """First SIGINT/SIGTERM: save a checkpoint and stop. A second SIGINT aborts at once."""

    def handler(signum: int, _frame: Any) -> None:
        if _interrupted.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        _interrupted.set()
        logger.warning("signal %d: stopping after this step and saving a checkpoint", signum)
        controls.send("interrupt")

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


if __name__ == "__main__":
    sys.exit(main())
