"""The runs store: one folder per run, an append-only event log, and a SQLite index.

A run folder holds ``job.json`` (the resolved job), ``events.jsonl`` (every protocol event,
flushed), ``checkpoints/`` and, at the end, ``adapter/``. The folders are the truth; the index
(``index.sqlite3`` in the runs root) is a cache that ``rebuild_index`` recreates from them.
Nothing here deletes or rewrites another run's files. Standard library only.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from engine.errors import BackpropError
from engine.protocol import encode

logger = logging.getLogger(__name__)

JOB_FILE = "job.json"
EVENTS_FILE = "events.jsonl"
LOCK_FILE = "worker.pid"
INDEX_FILE = "index.sqlite3"


def default_home() -> Path:
    """The user data folder: ``$BACKPROPAGATE_HOME`` or the platform's user data dir."""
    env = os.environ.get("BACKPROPAGATE_HOME")
    if env:
        return Path(env).expanduser()
    try:
        from platformdirs import user_data_path

        return user_data_path("Backpropagate", appauthor=False)
    except ImportError:  # platformdirs is a dependency; this keeps the module stdlib-safe
        return Path.home() / ".local" / "share" / "Backpropagate"


def default_runs_root() -> Path:
    return default_home() / "runs"


def atomic_write_text(path: Path, text: str) -> None:
    """Writes a file so that readers see either the old or the new content, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fsync_dir(path: Path) -> None:
    """Makes a rename inside ``path`` durable (a no-op where directories cannot be opened)."""
    if os.name == "nt":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class EventLog:
    """Appends protocol events to ``events.jsonl``, one flushed line each."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle = path.open("a", encoding="utf-8")

    def write(self, event: dict[str, Any]) -> None:
        self._handle.write(encode(event))
        self._handle.flush()
        if event.get("type") in ("checkpoint", "finished", "error"):
            os.fsync(self._handle.fileno())

    def close(self) -> None:
        if not self._handle.closed:
            self._handle.close()


def read_events(run_dir: Path) -> Iterator[dict[str, Any]]:
    """Yields the events of a run; a torn last line (a killed writer) is skipped."""
    path = Path(run_dir) / EVENTS_FILE
    if not path.is_file():
        return
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                yield event


@dataclass
class RunSummary:
    """A row of ``list-runs``: what a run is and how it ended."""

    run_id: str
    status: str
    model: str
    dataset: str
    created: str
    steps: int
    total_steps: int | None
    final_loss: float | None
    run_dir: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def summarise_run(run_dir: Path) -> RunSummary | None:
    """Derives a run's summary from its folder (job and events); None if it is not a run."""
    job_path = run_dir / JOB_FILE
    if not job_path.is_file():
        return None
    try:
        job = json.loads(job_path.read_text(encoding="utf-8"))
    except ValueError:
        return None
    settings = job.get("settings", {})
    status, steps, total, loss = "created", 0, settings.get("steps"), None
    for event in read_events(run_dir):
        kind = event.get("type")
        if kind == "config":
            status = "running"
        elif kind == "step":
            steps, total = event.get("step", steps), event.get("total", total)
            loss = event.get("loss", loss)
        elif kind == "finished":
            status = event.get("status", "completed")
            result = event.get("result") or {}
            loss = result.get("final_loss", loss)
            steps = result.get("steps", steps)
    if status == "running" and not _worker_alive(run_dir):
        status = "interrupted"
    return RunSummary(
        run_id=job.get("run_id", run_dir.name),
        status=status,
        model=str(job.get("model_path") or settings.get("model") or ""),
        dataset=str(job.get("data", "")),
        created=job.get("created", ""),
        steps=int(steps or 0),
        total_steps=total,
        final_loss=loss,
        run_dir=str(run_dir),
    )


def _worker_alive(run_dir: Path) -> bool:
    """Whether the worker that wrote the run's lock file is still running."""
    lock = run_dir / LOCK_FILE
    try:
        pid = int(lock.read_text().strip())
    except (OSError, ValueError):
        return False
    if os.name == "nt":
        return _windows_process_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    # A lock left by a killed worker may name a pid that was since reused by another program.
    cmdline = Path(f"/proc/{pid}/cmdline")
    try:
        return b"engine.worker" in cmdline.read_bytes()
    except OSError:
        return True  # no /proc (macOS): trust the pid


def _windows_process_alive(pid: int) -> bool:
    # NOTE: os.kill(pid, 0) is no probe on Windows: signal 0 is CTRL_C_EVENT there, and any
    # other value terminates the process. Ask the kernel for the exit code instead.
    import ctypes

    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    query_limited_information, still_active, access_denied = 0x1000, 259, 5
    handle = kernel32.OpenProcess(query_limited_information, False, pid)
    if not handle:
        return kernel32.GetLastError() == access_denied  # it exists, owned by someone else
    try:
        code = ctypes.c_ulong()
        return bool(kernel32.GetExitCodeProcess(handle, ctypes.byref(code))) and (
            code.value == still_active)
    finally:
        kernel32.CloseHandle(handle)


class RunStore:
    """All runs under one root folder."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root else default_runs_root()

    # --- creating and finding runs ---

    def create(self, job: dict[str, Any]) -> Path:
        """Makes a new run folder with a fresh id and writes its job; never reuses a folder."""
        self.root.mkdir(parents=True, exist_ok=True)
        for _ in range(10):
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
            run_id = f"{stamp}-{secrets.token_hex(3)}"
            run_dir = self.root / run_id
            try:
                run_dir.mkdir()
                break
            except FileExistsError:
                continue
        else:  # pragma: no cover - ten collisions of 24 random bits
            raise RuntimeError("could not allocate a run id")
        job = {**job, "run_id": run_id, "run_dir": str(run_dir),
               "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        atomic_write_text(run_dir / JOB_FILE, json.dumps(job, indent=2))
        (run_dir / "checkpoints").mkdir()
        self.update_index(run_dir)
        return run_dir

    def find(self, run_id: str) -> Path:
        """Finds a run folder by id, unique id prefix, or ``latest`` (the newest run).

        Raises:
            BackpropError: ``RUN_NOT_FOUND`` (also for an ambiguous prefix).
        """
        if run_id == "latest":
            # Ids start with their creation time, so the newest sorts last.
            runs = self._run_dirs()
            if not runs:
                raise BackpropError("RUN_NOT_FOUND", f"no runs in {self.root}", where="run_id")
            return runs[-1]
        exact = self.root / run_id
        if run_id and (exact / JOB_FILE).is_file():
            return exact
        matches = [p for p in self._run_dirs() if p.name.startswith(run_id)] if run_id else []
        if len(matches) == 1:
            return matches[0]
        detail = (f"{run_id!r} matches {len(matches)} runs" if matches
                  else f"no run {run_id!r} in {self.root}")
        raise BackpropError("RUN_NOT_FOUND", detail, where="run_id")

    def _run_dirs(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return sorted(p for p in self.root.iterdir() if (p / JOB_FILE).is_file())

    # --- the index ---

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.root / INDEX_FILE, timeout=10)
        conn.execute(
            "CREATE TABLE IF NOT EXISTS runs (run_id TEXT PRIMARY KEY, status TEXT, model TEXT,"
            " dataset TEXT, created TEXT, steps INTEGER, total_steps INTEGER, final_loss REAL,"
            " run_dir TEXT, updated REAL)"
        )
        return conn

    def update_index(self, run_dir: Path) -> None:
        """Refreshes one run's row from its folder; index trouble never fails a run."""
        summary = summarise_run(run_dir)
        if summary is None:
            return
        try:
            with self._connect() as conn:
                self._upsert(conn, summary)
        except sqlite3.Error as exc:
            logger.warning("run index not updated (%s); it is rebuilt on the next listing", exc)

    @staticmethod
    def _upsert(conn: sqlite3.Connection, s: RunSummary) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO runs VALUES (?,?,?,?,?,?,?,?,?,?)",
            (s.run_id, s.status, s.model, s.dataset, s.created, s.steps, s.total_steps,
             s.final_loss, s.run_dir, time.time()),
        )

    def rebuild_index(self) -> int:
        """Recreates the index from the run folders; returns how many runs it holds."""
        self.root.mkdir(parents=True, exist_ok=True)
        index = self.root / INDEX_FILE
        index.unlink(missing_ok=True)
        summaries = [s for s in map(summarise_run, self._run_dirs()) if s]
        with self._connect() as conn:
            for summary in summaries:
                self._upsert(conn, summary)
        return len(summaries)

    def list(self, status: str | None = None) -> list[RunSummary]:
        """Lists runs newest first, rebuilding the index if it is missing or damaged."""
        if not self.root.is_dir():
            return []
        try:
            rows = self._query()
            # Folders added or runs that died since the last update: refresh those rows.
            known = {r.run_id: r for r in rows}
            stale = [p for p in self._run_dirs()
                     if p.name not in known or known[p.name].status in ("running", "created")]
            for run_dir in stale:
                self.update_index(run_dir)
            if stale:
                rows = self._query()
        except sqlite3.Error as exc:
            logger.warning("run index unreadable (%s); rebuilding it from the run folders", exc)
            self.rebuild_index()
            rows = self._query()
        rows = [r for r in rows if Path(r.run_dir).is_dir()]
        if status:
            rows = [r for r in rows if r.status == status]
        return rows

    def _query(self) -> list[RunSummary]:
        with self._connect() as conn:
            cursor = conn.execute(
                "SELECT run_id, status, model, dataset, created, steps, total_steps, "
                "final_loss, run_dir FROM runs ORDER BY created DESC, run_id DESC"
            )
            return [RunSummary(*row) for row in cursor.fetchall()]
