"""Atomic, verifiable checkpoints: write to a temporary folder, fsync, rename, keep a manifest.

A checkpoint is ``checkpoints/step-NNNNNNNN/`` holding the adapter (a PEFT folder), the
optimizer, scheduler and RNG states, the trainer's position in the data, and ``manifest.json``
with each file's size and SHA-256. The folder appears under its final name only when complete,
so a process killed mid-write leaves the previous checkpoint as the latest valid one.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

from engine.errors import BackpropError
from engine.runs import atomic_write_text, file_sha256, fsync_dir

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
STATE_FILE = "training_state.pt"
FORMAT_VERSION = 1
_PREFIX = "step-"
_PARTIAL = ".partial-"


def checkpoint_name(step: int) -> str:
    return f"{_PREFIX}{step:08d}"


def save_checkpoint(checkpoints_dir: Path, step: int, model: Any, state: dict[str, Any],
                    info: dict[str, Any]) -> Path:
    """Writes one checkpoint atomically and returns its folder.

    Args:
        checkpoints_dir: The run's ``checkpoints/`` folder.
        step: The optimizer step the checkpoint is taken after.
        model: The PEFT model; only the adapter is saved.
        state: Optimizer, scheduler, RNG and data-position state (saved with torch.save).
        info: JSON-able summary (loss history, position) written into the manifest.
    """
    import torch

    final = checkpoints_dir / checkpoint_name(step)
    tmp = checkpoints_dir / f"{_PARTIAL}{checkpoint_name(step)}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)

    model.save_pretrained(tmp / "adapter")
    _fault_point("checkpoint_write")
    torch.save(state, tmp / STATE_FILE)

    files = {}
    for path in sorted(p for p in tmp.rglob("*") if p.is_file()):
        _fsync_file(path)
        files[path.relative_to(tmp).as_posix()] = {"size": path.stat().st_size,
                                                   "sha256": file_sha256(path)}
    manifest = {"format": FORMAT_VERSION, "step": step, "created": time.time(),
                "files": files, **info}
    atomic_write_text(tmp / MANIFEST, json.dumps(manifest, indent=2))
    fsync_dir(tmp / "adapter")
    fsync_dir(tmp)

    if final.exists():
        # Same step written twice (a stop right after a periodic save): keep the first.
        shutil.rmtree(tmp)
        return final
    os.rename(tmp, final)
    fsync_dir(checkpoints_dir)
    return final


def verify_checkpoint(path: Path) -> dict[str, Any]:
    """Checks a checkpoint against its manifest and returns the manifest.

    Raises:
        BackpropError: ``CHECKPOINT_INVALID`` naming the first missing or altered file.
    """
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise BackpropError("CHECKPOINT_INVALID", "manifest.json is missing or unreadable",
                            where=str(path)) from None
    for name, meta in manifest.get("files", {}).items():
        file = path / name
        if not file.is_file():
            raise BackpropError("CHECKPOINT_INVALID", f"{name} is missing", where=str(path))
        if file.stat().st_size != meta["size"] or file_sha256(file) != meta["sha256"]:
            raise BackpropError("CHECKPOINT_INVALID", f"{name} does not match the manifest",
                                where=str(path))
    return manifest


def list_checkpoints(checkpoints_dir: Path) -> list[Path]:
    """Complete-looking checkpoint folders, oldest first (partial folders are not listed)."""
    if not checkpoints_dir.is_dir():
        return []
    return sorted(p for p in checkpoints_dir.iterdir()
                  if p.is_dir() and p.name.startswith(_PREFIX))


def latest_valid(checkpoints_dir: Path) -> tuple[Path, dict[str, Any]] | None:
    """The newest checkpoint that passes verification; damaged ones are skipped and logged."""
    for path in reversed(list_checkpoints(checkpoints_dir)):
        try:
            return path, verify_checkpoint(path)
        except BackpropError as exc:
            logger.warning("skipping checkpoint %s: %s", path.name, exc.message)
    return None


def load_state(path: Path) -> dict[str, Any]:
    import torch

    # The state holds numpy RNG arrays and plain Python containers, written by us.
    return torch.load(path / STATE_FILE, map_location="cpu", weights_only=False)


def remove_partials(checkpoints_dir: Path) -> int:
    """Deletes this run's half-written checkpoint folders left by a killed process."""
    count = 0
    if checkpoints_dir.is_dir():
        for path in checkpoints_dir.iterdir():
            if path.name.startswith(_PARTIAL):
                shutil.rmtree(path, ignore_errors=True)
                count += 1
    return count


def prune(checkpoints_dir: Path, keep: int) -> None:
    """Keeps this run's ``keep`` newest checkpoints; older ones of the same run go."""
    for path in list_checkpoints(checkpoints_dir)[:-keep]:
        shutil.rmtree(path, ignore_errors=True)


def _fsync_file(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


_fault_hits: dict[str, int] = {}


def _fault_point(name: str) -> None:
    """Test hook: ``BACKPROPAGATE_FAULT=checkpoint_write:30:2`` sleeps 30 s in the 2nd write.

    The crash-safety test kills the worker inside this window to prove that a torn write
    never replaces a good checkpoint. Unset, it costs one environment lookup.
    """
    spec = os.environ.get("BACKPROPAGATE_FAULT", "")
    if not spec.startswith(name + ":"):
        return
    _fault_hits[name] = _fault_hits.get(name, 0) + 1
    parts = spec.split(":")
    seconds, nth = float(parts[1]), int(parts[2]) if len(parts) > 2 else 1
    if _fault_hits[name] == nth:
        logger.warning("fault injection: pausing %.1f s inside %s", seconds, name)
        time.sleep(seconds)
