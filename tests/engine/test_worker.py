"""The worker in a real subprocess: protocol stream, commands, crash safety, exit codes."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from engine import protocol
from engine.checkpoint import latest_valid, verify_checkpoint
from tests.conftest import PYTHON, REPO, python_env


class Worker:
    """A worker process with its stdout read on a thread into a queue of decoded events."""

    def __init__(self, job: dict, tmp_path: Path, env: dict | None = None) -> None:
        job_path = tmp_path / "job.json"
        job_path.write_text(json.dumps({"job_version": 1, **job}))
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "engine.worker", str(job_path)], cwd=REPO, env=env or python_env(),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            encoding="utf-8",
        )
        self.events: list[dict] = []
        self.raw: list[str] = []
        self._queue: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.stderr: list[str] = []
        threading.Thread(target=lambda: self.stderr.extend(self.proc.stderr), daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.raw.append(line)
            self._queue.put(protocol.decode_event(line))  # raises on a bad line: test fails
        self._queue.put(None)

    def send(self, line: str) -> None:
        self.proc.stdin.write(line)
        self.proc.stdin.flush()

    def wait_for(self, predicate, timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                event = self._queue.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if event is None:
                raise AssertionError(f"worker ended; stderr:\n{''.join(self.stderr)[-3000:]}")
            self.events.append(event)
            if predicate(event):
                return event
        raise AssertionError(f"timed out; last events: {self.events[-3:]}")

    def finish(self, timeout: float = 120) -> int:
        code = self.proc.wait(timeout=timeout)
        while True:
            event = self._queue.get(timeout=10)
            if event is None:
                return code
            self.events.append(event)


def job_for(bundled_model, quickstart, tmp_path, **settings):
    base = {"model": str(bundled_model), "eval_every": 0, "checkpoint_every": 0,
            "learning_rate": 1e-4}
    return {"data": str(quickstart), "settings": {**base, **settings},
            "runs_root": str(tmp_path / "runs")}


def test_protocol_stream_commands_and_stop(bundled_model, quickstart, tmp_path):
    worker = Worker(job_for(bundled_model, quickstart, tmp_path, steps=5000), tmp_path)
    hello = worker.wait_for(lambda e: True)
    assert hello["type"] == "hello" and hello["protocol"] == protocol.PROTOCOL_VERSION
    worker.wait_for(lambda e: e["type"] == "step" and e["step"] >= 2)

    # Garbage is answered with an error event; training goes on.
    worker.send("this is not a command\n")
    bad = worker.wait_for(lambda e: e["type"] == "error")
    assert bad["code"] == "PROTOCOL_BAD_COMMAND"
    worker.wait_for(lambda e: e["type"] == "step")

    worker.send(protocol.command("pause"))
    paused = worker.wait_for(lambda e: e["type"] == "paused")
    time.sleep(1.0)  # a paused worker emits nothing: check a quiet second
    assert worker._queue.empty()
    worker.send(protocol.command("resume"))
    resumed = worker.wait_for(lambda e: e["type"] == "resumed")
    assert resumed["step"] == paused["step"]
    step = worker.wait_for(lambda e: e["type"] == "step")
    assert step["step"] == paused["step"] + 1

    worker.send(protocol.command("checkpoint"))
    worker.wait_for(lambda e: e["type"] == "checkpoint")
    worker.send(protocol.command("stop"))
    assert worker.finish() == protocol.EXIT_OK

    kinds = [e["type"] for e in worker.events]
    assert kinds[0] == "hello" and kinds[1] == "config" and kinds[2] == "dataset"
    assert kinds[-1] == "finished" and worker.events[-1]["status"] == "stopped"
    stop_checkpoint = [e for e in worker.events if e["type"] == "checkpoint"][-1]
    verify_checkpoint(Path(stop_checkpoint["path"]))
    run_dir = Path(worker.events[1]["run_dir"])
    assert (run_dir / "adapter" / "adapter_model.safetensors").is_file()
    # Every event the app saw is in the run's log too, in order.
    logged = [json.loads(line)["type"] for line in (run_dir / "events.jsonl").open()]
    assert logged == kinds
    # stdout carried protocol lines only; logs went to stderr with the run id.
    assert all(line.startswith('{"type":') for line in worker.raw)
    assert any(f"[{run_dir.name}]" in line for line in worker.stderr)
    # No tqdm bars ("  0%|    | 0/39"): the app shows stderr in a log pane, and a bar that
    # redraws with carriage returns becomes a pile of half-lines there.
    assert not any("%|" in line for line in worker.stderr)


def test_sigkill_while_writing_a_checkpoint_keeps_the_previous_one(bundled_model, quickstart,
                                                                   tmp_path):
    env = {**python_env(), "BACKPROPAGATE_FAULT": "checkpoint_write:60:2"}
    worker = Worker(job_for(bundled_model, quickstart, tmp_path, steps=12, checkpoint_every=2),
                    tmp_path, env=env)
    first = worker.wait_for(lambda e: e["type"] == "checkpoint")
    checkpoints = Path(first["path"]).parent
    deadline = time.monotonic() + 60
    while not any(p.name.startswith(".partial-") for p in checkpoints.iterdir()):
        assert time.monotonic() < deadline, "second checkpoint never started"
        time.sleep(0.05)
    worker.proc.send_signal(signal.SIGKILL)
    assert worker.proc.wait(timeout=30) == -signal.SIGKILL

    path, manifest = latest_valid(checkpoints)
    assert path.name == "step-00000002" and manifest["step"] == 2
    run_id = checkpoints.parent.name
    listed = subprocess.run([PYTHON, "-m", "engine", "list-runs", "--json", "-o",
                             str(tmp_path / "runs")], capture_output=True, text=True,
                            env=python_env(), cwd=REPO, check=True)
    assert json.loads(listed.stdout)[0]["status"] == "interrupted"

    resumed = subprocess.run([PYTHON, "-m", "engine", "resume", run_id, "-o",
                              str(tmp_path / "runs")], capture_output=True, text=True,
                             env=python_env(), cwd=REPO, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "completed at step 12/12" in resumed.stdout
    assert not any(p.name.startswith(".partial-") for p in checkpoints.iterdir())


def test_sigterm_saves_and_exits_130(bundled_model, quickstart, tmp_path):
    worker = Worker(job_for(bundled_model, quickstart, tmp_path, steps=5000), tmp_path)
    worker.wait_for(lambda e: e["type"] == "step" and e["step"] >= 1)
    worker.proc.send_signal(signal.SIGTERM)
    assert worker.finish() == protocol.EXIT_INTERRUPTED
    finished = worker.events[-1]
    assert finished["type"] == "finished" and finished["status"] == "stopped"
    assert any(e["type"] == "checkpoint" for e in worker.events)


def test_the_run_survives_the_app_going_away(bundled_model, quickstart, tmp_path):
    """An app that crashes closes the worker's pipes; the run goes on and finishes."""
    job_path = tmp_path / "job.json"
    job_path.write_text(json.dumps({"job_version": 1, **job_for(
        bundled_model, quickstart, tmp_path, steps=30)}))
    proc = subprocess.Popen([PYTHON, "-m", "engine.worker", str(job_path)], cwd=REPO,
                            env=python_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    steps = 0
    for line in proc.stdout:
        steps += '"type":"step"' in line.decode()
        if steps == 2:
            break
    proc.stdout.close()
    proc.stderr.close()
    proc.stdin.close()
    assert proc.wait(timeout=180) == protocol.EXIT_OK

    run_dir = next(p for p in (tmp_path / "runs").iterdir() if p.is_dir())
    events = [json.loads(line) for line in (run_dir / "events.jsonl").open()]
    assert events[-1]["type"] == "finished" and events[-1]["status"] == "completed"
    assert [e["step"] for e in events if e["type"] == "step"] == list(range(1, 31))
    assert (run_dir / "adapter" / "adapter_model.safetensors").is_file()


@pytest.mark.parametrize("job, code", [
    ({"data": "/no/such/file.jsonl", "settings": {}}, "DATA_NOT_FOUND"),
    ({"settings": {}}, "JOB_INVALID"),
    ({"data": "QUICKSTART", "settings": {"lora": {"r": -1}}}, "CONFIG_INVALID"),
    ({"data": "QUICKSTART", "settings": {"model": "/no/such/model"}}, "MODEL_NOT_FOUND"),
])
def test_bad_jobs_exit_1_with_a_coded_error(quickstart, tmp_path, job, code):
    if job.get("data") == "QUICKSTART":
        job = {**job, "data": str(quickstart)}
    worker = Worker({**job, "runs_root": str(tmp_path / "runs")}, tmp_path)
    assert worker.finish() == protocol.EXIT_BAD_INPUT
    error = next(e for e in worker.events if e["type"] == "error")
    assert error["code"] == code and error["hint"]
    assert worker.events[-1]["type"] == "finished"
