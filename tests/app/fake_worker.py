"""A worker stand-in that misbehaves on purpose: garbage, cut lines, a wrong protocol, a crash.

The real worker (``engine.worker``) never does these things, so they cannot be produced with it;
every well-formed line here is built with ``engine.protocol`` exactly as the worker builds it.
Usage: ``python fake_worker.py MODE`` with MODE one of garbage, mismatch, die, ignore-stop,
obedient (steps until a ``stop`` command arrives on stdin, then finishes as "stopped"), thermal
(a thermal pause, which needs a GPU that heats up), download (a hub model being fetched).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engine.protocol import PROTOCOL_VERSION, encode, make_event  # noqa: E402

out = sys.stdout.buffer


def send(raw: bytes) -> None:
    out.write(raw)
    out.flush()


def event(kind: str, **fields) -> bytes:
    return encode(make_event(kind, **fields)).encode("utf-8")


def hello(version: int = PROTOCOL_VERSION) -> None:
    send(
        event(
            "hello",
            protocol=version,
            engine_version="fake",
            torch_version="none",
            device="cpu",
            pid=os.getpid(),
        )
    )


def step(n: int, total: int) -> bytes:
    return event(
        "step",
        step=n,
        total=total,
        loss=2.0 / n,
        lr=1e-4,
        grad_norm=1.0,
        tokens_per_s=100.0,
        elapsed=0.1 * n,
        eta=0.1 * (total - n),
        epoch=0.0,
    )


def on_command(name: str) -> threading.Event:
    """An event set once the app sends command ``name`` on stdin (read on a daemon thread)."""
    received = threading.Event()

    def read_commands() -> None:
        for line in sys.stdin:
            if json.loads(line).get("cmd") == name:
                received.set()

    threading.Thread(target=read_commands, daemon=True).start()
    return received


def main(mode: str) -> int:
    if mode == "garbage":
        hello()
        send(event("config", run_id="fake-run", run_dir="/nonexistent", config={}, choices={}))
        send(b'plain text on stdout\n{not json at all\n[1, 2, 3]\n{"type": "nope"}\n')
        send(b"\xff\xfe broken utf-8 \xc3\n")
        whole = step(1, 5)
        send(whole[:7])  # a read ends mid-line ...
        time.sleep(0.05)
        send(whole[7:])  # ... and the rest arrives later
        payload = step(2, 5) + step(3, 5)
        for i in range(0, len(payload), 5):  # a few bytes per write
            send(payload[i : i + 5])
        send(b"\r\n" + step(4, 5).rstrip(b"\n") + b"\r\n")  # CRLF and an empty line
        send(b'{"type": "step", "step": 99}\n')  # a step without its required fields
        send(
            event(
                "error",
                code="PROTOCOL_BAD_COMMAND",
                message="fake complaint",
                hint="none",
                where=None,
            )
        )
        send(step(5, 5))
        send(
            event(
                "finished",
                status="completed",
                result={"run_id": "fake-run", "steps": 5, "final_loss": 0.4},
            ).rstrip(b"\n")
        )
        return 0

    if mode == "mismatch":
        hello(PROTOCOL_VERSION + 1)
        time.sleep(60)
        return 0

    if mode == "die":
        hello()
        send(event("config", run_id="fake-run", run_dir="/nonexistent", config={}, choices={}))
        send(step(1, 10))
        sys.stderr.write("about to crash\n")
        sys.stderr.flush()
        os._exit(3)

    if mode == "ignore-stop":
        hello()
        for n in range(1, 10_000):
            send(step(n, 10_000))
            time.sleep(0.02)
        return 0

    if mode == "obedient":
        stop = on_command("stop")
        hello()
        send(event("config", run_id="fake-run", run_dir="/nonexistent", config={}, choices={}))
        n = 0
        while not stop.is_set() and n < 10_000:
            n += 1
            send(step(n, 10_000))
            time.sleep(0.01)
        send(event("checkpoint", step=n, path="/nonexistent/checkpoints/step"))
        send(event("finished", status="stopped", result={"run_id": "fake-run", "steps": n}))
        return 0

    if mode == "download":
        # What the real worker emits while it fetches a hub model before its first step.
        hello()
        send(event("config", run_id="fake-run", run_dir="/nonexistent", config={}, choices={}))
        total = 15 * 2**30
        for done in (0, total // 3, 2 * total // 3):
            send(event("download", model="org/big-model", done=done, total=total))
            time.sleep(0.3)
        send(event("download", model="org/big-model", done=total, total=total))
        send(step(1, 1))
        send(event("finished", status="completed", result={"run_id": "fake-run", "steps": 1}))
        return 0

    if mode == "thermal":
        # What the real worker emits when its GPU passes thermal_pause_c (a GPU cannot heat
        # up here): a thermal pause after two steps, held until the app has seen it.
        resume = on_command("resume")
        hello()
        send(event("config", run_id="fake-run", run_dir="/nonexistent", config={}, choices={}))
        send(step(1, 3) + step(2, 3))
        send(event("paused", step=2, reason="thermal", temperature=93, resume_at=80))
        resume.wait(30)
        send(event("warning", code="THERMAL_PAUSE", message="the GPU is still too hot; "
                   "training goes on by itself at 80 °C"))
        send(event("resumed", step=2, reason="thermal", temperature=79))
        send(step(3, 3))
        send(event("finished", status="completed", result={"run_id": "fake-run", "steps": 3}))
        return 0

    sys.stderr.write(f"unknown mode {mode!r}\n")
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
