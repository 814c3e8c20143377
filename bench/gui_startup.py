"""How long the app takes from launch to its first painted window (target: ≤ 1.0 s median).

Each sample starts a fresh interpreter that runs the real entry point (``app.main.main``) with
an application-wide event filter that notes the first Paint event. The clock starts in this
process just before the child is spawned, so interpreter start-up and every import count.
Settings and runs go to a throwaway home folder. Prints the numbers; exits 0 either way.

    python bench/gui_startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 1.0

CHILD = r"""
import os, sys, time, json
t0 = float(os.environ["BENCH_T0"])
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication

app = QApplication(sys.argv[:1])

from PySide6.QtCore import QTimer

result = {}

def plots_ready():
    from app.widgets.loss_plot import LossPlot
    plots = [w for w in app.allWidgets() if isinstance(w, LossPlot)]
    if plots and all(p.plot_widget is not None for p in plots):
        result["ready_s"] = time.time() - t0
        result["heavy"] = sorted(m for m in ("torch", "transformers", "peft", "trl", "datasets")
                                 if m in sys.modules)
        sys.stdout.write(json.dumps(result))
        sys.stdout.flush()
        os._exit(0)
    QTimer.singleShot(1, plots_ready)

class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        if (event.type() == QEvent.Type.Paint and "first_paint_s" not in result
                and obj.isWidgetType() and obj.window().isVisible()):
            result["first_paint_s"] = time.time() - t0
            QTimer.singleShot(0, plots_ready)
        return False

first_paint = FirstPaint()
app.installEventFilter(first_paint)
from app.main import main
main([])
"""


def sample(home: Path) -> dict:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "BACKPROPAGATE_HOME": str(home / "backpropagate"),
    }
    env["BENCH_T0"] = repr(time.time())
    # Its own session, so that the engine calls the app starts in the background (the Train
    # tab's plan) end with it instead of running on into the next sample.
    proc = subprocess.Popen([sys.executable, "-c", CHILD], cwd=REPO_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    stdout, stderr = proc.communicate(timeout=60)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    if proc.returncode != 0 or not stdout.strip():
        raise SystemExit(f"the app did not paint:\n{stderr[-2000:]}")
    return json.loads(stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        sample(Path(tmp))  # warm the page cache; not counted
        results = [sample(Path(tmp)) for _ in range(args.runs)]

    times = [r["first_paint_s"] for r in results]
    median = statistics.median(times)
    ready = statistics.median(r["ready_s"] for r in results)
    heavy = sorted({m for r in results for m in r["heavy"]})
    print(
        f"launch → first paint, {args.runs} runs: median {median * 1000:.0f} ms "
        f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}); target ≤ "
        f"{TARGET_S * 1000:.0f} ms: {'ok' if median <= TARGET_S else 'OVER BUDGET'} "
        f"(ratio {median / TARGET_S:.2f})"
    )
    print(
        f"launch → plots built (pyqtgraph loaded after the first paint): median "
        f"{ready * 1000:.0f} ms"
    )
    print(f"ML modules loaded in the GUI process once ready: {heavy or 'none'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
