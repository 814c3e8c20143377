"""The runs store: status from the folder, live-worker detection, the index as a cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from engine.protocol import encode, make_event
from engine.runs import EVENTS_FILE, INDEX_FILE, LOCK_FILE, RunStore, summarise_run


def _started_run(store: RunStore) -> Path:
    run_dir = store.create({"data": "d.jsonl", "settings": {"steps": 10}})
    event = make_event("config", run_id=run_dir.name, run_dir=str(run_dir), config={})
    (run_dir / EVENTS_FILE).write_text(encode(event))
    return run_dir


def test_a_run_is_running_only_while_its_worker_lives(tmp_path):
    store = RunStore(tmp_path)
    run_dir = _started_run(store)
    assert summarise_run(run_dir).status == "interrupted"  # no lock file at all

    # A live process that is not a worker (a reused pid) does not count.
    (run_dir / LOCK_FILE).write_text(str(os.getpid()))
    assert summarise_run(run_dir).status == "interrupted"

    worker = subprocess.Popen([sys.executable, "-c", "import time; print('up', flush=True); "
                               "time.sleep(60)", "engine.worker"], stdout=subprocess.PIPE)
    try:
        assert worker.stdout.readline() == b"up\n"  # running as itself, not as a fork of us
        (run_dir / LOCK_FILE).write_text(str(worker.pid))
        assert summarise_run(run_dir).status == "running"
    finally:
        worker.kill()
        worker.wait()
    assert summarise_run(run_dir).status == "interrupted"


def test_the_index_is_rebuilt_from_the_folders(tmp_path):
    store = RunStore(tmp_path)
    first = _started_run(store)
    second = _started_run(store)
    assert first != second and {r.run_id for r in store.list()} == {first.name, second.name}

    (tmp_path / INDEX_FILE).write_bytes(b"this is not a database")
    assert {r.run_id for r in store.list()} == {first.name, second.name}
    assert json.loads((first / "job.json").read_text())["run_id"] == first.name
