"""Protocol throughput into the live window: events/s parsed and event-loop stalls.

A child process emits step events as fast as it can (built with ``engine.protocol``, flushed in
small batches); the real main window, Train tab in front, receives them through
``EngineProcess`` and draws the curves on its 20 Hz timer. A 5 ms heartbeat timer measures how
long the event loop is ever blocked. Targets: ≥ 50k events/s, no stall over 50 ms.
Prints the numbers; exits 0 either way.

    python bench/gui_events.py [--events 100000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

TARGET_EVENTS_PER_S = 50_000
TARGET_STALL_MS = 50

# The emitter must outrun the window: it checks its event once with make_event, then writes
# with plain json.dumps (engine.protocol.encode also scrubs NaNs, at ~25 µs an event).
EMITTER = r"""
import json, os, sys
from engine.protocol import PROTOCOL_VERSION, encode, make_event
n = int(sys.argv[1])
out = sys.stdout
out.reconfigure(encoding="utf-8", newline="\n")
out.write(encode(make_event("hello", protocol=PROTOCOL_VERSION, engine_version="bench",
                            torch_version="none", device="cpu", pid=os.getpid())))
out.flush()
template = make_event("step", step=0, total=n, loss=0.0, lr=1e-4, grad_norm=1.0,
                      tokens_per_s=1000.0, elapsed=0.0, eta=0.0, epoch=0.0)
batch = []
for i in range(1, n + 1):
    template["step"] = i
    template["loss"] = 2.0 / (1 + i * 1e-3)
    template["eta"] = (n - i) * 1e-3
    batch.append(json.dumps(template, separators=(",", ":")) + "\n")
    if len(batch) == 64:
        out.write("".join(batch))
        out.flush()
        batch = []
out.write("".join(batch))
out.write(encode(make_event("finished", status="completed",
                            result={"run_id": "bench", "steps": n, "final_loss": 1.0})))
out.flush()
"""


def parser_only(events: int) -> float:
    """Events/s through LineBuffer + parse_lines alone, fed in 64 KiB chunks."""
    from engine.protocol import LineBuffer, encode, make_event, parse_lines

    data = "".join(
        encode(
            make_event(
                "step",
                step=i,
                total=events,
                loss=1.0,
                lr=1e-4,
                grad_norm=1.0,
                tokens_per_s=1.0,
                elapsed=1.0,
                eta=1.0,
            )
        )
        for i in range(events)
    ).encode()
    buffer = LineBuffer()
    start = time.perf_counter()
    count = 0
    for offset in range(0, len(data), 65536):
        parsed, _ = parse_lines(buffer.feed(data[offset : offset + 65536]))
        count += len(parsed)
    assert count == events
    return events / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()

    from PySide6.QtCore import QElapsedTimer, QSettings, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from app.gpu_monitor import GpuMonitor
    from app.main import apply_style
    from app.main_window import MainWindow
    from tests.app.fake_nvml import FakeNvml

    app = QApplication(sys.argv[:1])
    apply_style(app)
    tmp = tempfile.TemporaryDirectory(prefix="bench-events-")
    settings = QSettings(str(Path(tmp.name) / "s.ini"), QSettings.Format.IniFormat)
    window = MainWindow(
        settings, runs_root=Path(tmp.name) / "runs", gpu_monitor=GpuMonitor(FakeNvml(None))
    )
    window.resize(1280, 800)
    window.tabs.setCurrentWidget(window.train_tab)
    window.show()
    train = window.train_tab
    engine = train.engine

    # The heartbeat: any gap well over 5 ms is time the event loop could not run.
    clock = QElapsedTimer()
    gaps: list[float] = []
    last = [0.0]
    heartbeat = QTimer()
    heartbeat.setTimerType(Qt.TimerType.PreciseTimer)
    heartbeat.setInterval(5)

    def beat() -> None:
        now = clock.nsecsElapsed() / 1e6
        if last[0]:
            gaps.append(now - last[0])
        last[0] = now

    heartbeat.timeout.connect(beat)

    received = [0]
    first_event = [0.0]
    last_event = [0.0]

    cpu = [0.0, 0.0]

    def on_events(events: list) -> None:
        if not first_event[0]:
            first_event[0] = time.perf_counter()
            cpu[0] = time.process_time()
        received[0] += len(events)
        last_event[0] = time.perf_counter()

    engine.sig_events_received.connect(on_events)
    outcome: list[str] = []

    def on_finished(status: str, result: dict) -> None:
        cpu[1] = time.process_time()
        outcome.append(status)
        app.quit()

    engine.sig_run_finished.connect(on_finished)

    def start() -> None:
        train._clear_live_view()
        clock.start()
        heartbeat.start()
        env_path = str(REPO_ROOT)
        os.environ["PYTHONPATH"] = env_path
        engine.start(sys.executable, ["-c", EMITTER, str(args.events)])

    # Start once the window is painted, its plots exist and the Train tab's plan (an engine
    # call that imports torch) is in, as when a user presses Start.
    def start_when_settled() -> None:
        if train.plan is None:
            QTimer.singleShot(100, start_when_settled)
        else:
            start()

    QTimer.singleShot(1500, start_when_settled)
    QTimer.singleShot(120_000, app.quit)
    app.exec()
    heartbeat.stop()
    train.loss_plot.redraw()

    seconds = last_event[0] - first_event[0]
    rate = (received[0] - 1) / seconds if seconds > 0 else 0.0
    stall = max(gaps) if gaps else 0.0
    p99 = statistics.quantiles(gaps, n=100)[98] if len(gaps) > 100 else stall
    print(f"events received: {received[0]:,} of {args.events + 2:,} ({outcome or ['timeout']})")
    print(
        f"throughput into the live window: {rate:,.0f} events/s; target ≥ "
        f"{TARGET_EVENTS_PER_S:,}: {'ok' if rate >= TARGET_EVENTS_PER_S else 'BELOW TARGET'} "
        f"(ratio {rate / TARGET_EVENTS_PER_S:.2f})"
    )
    print(
        f"event-loop gaps (5 ms heartbeat): max {stall:.1f} ms, p99 {p99:.1f} ms; target "
        f"max ≤ {TARGET_STALL_MS} ms: {'ok' if stall <= TARGET_STALL_MS else 'OVER'}"
    )
    print(
        f"GUI process CPU while streaming: {cpu[1] - cpu[0]:.2f} s of {seconds:.2f} s wall "
        f"({(cpu[1] - cpu[0]) / seconds:.0%}; the rest is waiting for the emitter, or for a "
        f"core on a busy machine); load average now {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} cores"
    )
    print(
        f"plot redraws: {train.loss_plot.redraw_count}; points on the loss curve: "
        f"{train.loss_plot.drawn_count('train'):,}"
    )
    print(
        f"parser alone (LineBuffer + parse_lines, 64 KiB chunks): "
        f"{parser_only(args.events):,.0f} events/s"
    )
    window.close()
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
