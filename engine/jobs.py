"""Turning a job request into a run folder: validate, resolve settings, create or reopen.

Shared by the worker, the CLI and the Python API, so a run started any way looks the same on
disk and resumes the same way.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine.config import resolve_settings
from engine.data import load_dataset
from engine.errors import BackpropError
from engine.models import resolve_model_name
from engine.runs import JOB_FILE, RunStore, file_sha256, summarise_run

JOB_VERSION = 1


def read_job_file(path: str | Path) -> dict[str, Any]:
    """Reads and checks a worker job file.

    Raises:
        BackpropError: ``JOB_INVALID`` naming what is wrong.
    """
    path = Path(path)
    try:
        job = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BackpropError("JOB_INVALID", f"cannot read the job file: {exc.strerror}",
                            where=str(path)) from None
    except ValueError as exc:
        raise BackpropError("JOB_INVALID", f"the job file is not JSON ({exc})",
                            where=str(path)) from None
    if not isinstance(job, dict):
        raise BackpropError("JOB_INVALID", "the job must be a JSON object", where=str(path))
    version = job.get("job_version", JOB_VERSION)
    if version != JOB_VERSION:
        raise BackpropError("JOB_INVALID", f"job_version {version} is not {JOB_VERSION}",
                            where=f"{path}: job_version")
    if not job.get("resume_run") and not job.get("data"):
        raise BackpropError("JOB_INVALID", "the job names no data file", where=f"{path}: data")
    return job


def open_run(job: dict[str, Any]) -> tuple[Path, dict[str, Any], bool]:
    """Creates the run folder for a new job, or finds the run a resume job names.

    Returns:
        (run folder, the job as saved in it, whether this is a resume).
    """
    store = RunStore(job.get("runs_root"))
    resume_id = job.get("resume_run")
    if resume_id:
        run_dir = store.find(resume_id)
        saved = json.loads((run_dir / JOB_FILE).read_text(encoding="utf-8"))
        summary = summarise_run(run_dir)
        if summary is not None and summary.status == "completed":
            raise BackpropError("RUN_ALREADY_FINISHED", f"run {saved['run_id']} completed "
                                f"{summary.steps} of {summary.total_steps} steps",
                                where=str(run_dir))
        return run_dir, saved, True

    data = Path(job["data"]).expanduser()
    if not data.is_file():
        raise BackpropError("DATA_NOT_FOUND", f"no such file: {data}", where="data")
    settings = resolve_settings(job.get("settings") or {})
    # Refuse bad data before a run folder exists, so a typo leaves no failed run behind.
    load_dataset(data, strict=not settings.data.skip_invalid)
    if settings.model:
        resolve_model_name(settings.model, cuda=False)  # a missing folder fails here, too
    # The fingerprint lets a resume notice that the file changed under the run.
    run_dir = store.create({"job_version": JOB_VERSION, "data": str(data.resolve()),
                            "data_sha256": file_sha256(data), "settings": settings.to_dict()})
    saved = json.loads((run_dir / JOB_FILE).read_text(encoding="utf-8"))
    return run_dir, saved, False
