"""Render the README screenshots of every tab, offscreen, from a real session.

The window loads ``examples/quickstart.jsonl`` through the engine, trains the bundled model for
a few dozen steps through the real worker, and lists the run; each tab is saved as a PNG in
``docs/screenshots/``. Settings and runs go to a temporary folder. The GPU gauges show what
this machine has (on a machine without an NVIDIA GPU: "No NVIDIA GPU — training on CPU").

    python scripts/render_screenshots.py [--steps 60] [--lr 2e-3] [--model bundled]
                                         [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

logger = logging.getLogger("render_screenshots")

SIZE = (1280, 800)


def wait_for(signal, timeout_ms: int) -> list:
    """Runs the event loop until ``signal`` fires; returns its arguments."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    received: list = []
    timer = QTimer()
    timer.setSingleShot(True)
    timer.timeout.connect(loop.quit)

    def on_signal(*args) -> None:
        received.extend(args)
        loop.quit()

    signal.connect(on_signal)
    timer.start(timeout_ms)
    loop.exec()
    signal.disconnect(on_signal)
    if not timer.isActive():
        raise SystemExit(f"timed out after {timeout_ms} ms waiting for {signal}")
    timer.stop()
    return received


def settle(ms: int = 300) -> None:
    """Lets timers (plot redraws, label refreshes) run before a grab."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    # The toy model's learning rate, as in the README's headless job: the curve shows learning.
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--model", default="bundled")
    parser.add_argument("--data", default=str(REPO_ROOT / "examples" / "quickstart.jsonl"))
    parser.add_argument("--out", default=str(REPO_ROOT / "docs" / "screenshots"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from app.main import apply_style
    from app.main_window import MainWindow

    app = QApplication(sys.argv[:1])
    apply_style(app)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="backprop-shots-") as tmp:
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings, runs_root=Path(tmp) / "runs")
        window.resize(*SIZE)
        window.show()
        settle()

        def save(name: str) -> None:
            settle()
            path = out / f"{name}.png"
            if not window.grab().save(str(path)):
                raise SystemExit(f"could not write {path}")
            logger.info("wrote %s", path)

        # Dataset: the quickstart file, summarised by the engine.
        window.open_paths([args.data])
        path, summary = wait_for(window.dataset_tab.sig_dataset_loaded, 60_000)
        save("dataset")

        # Train: a short real run of the bundled model.
        train = window.train_tab
        window.tabs.setCurrentWidget(train)
        train.set_model(args.model)
        train.steps_spin.setValue(args.steps)
        train.lr_spin.setValue(args.lr)
        train.smoothing_spin.setValue(5)
        train.start_run()
        status, run_id = wait_for(train.sig_run_finished, 600_000)
        if status != "completed":
            raise SystemExit(f"the run ended {status}: {train.banner.details()}")
        save("train")

        # Runs: the list, with the run's curves redrawn from its events.jsonl.
        runs = window.runs_tab
        window.tabs.setCurrentWidget(runs)
        wait_for(runs.sig_runs_listed, 60_000)
        runs.select_runs([run_id])
        save("runs")

        # The planned tabs are disabled in the window, so their pages are shown on their own.
        for name, page in (("multirun", window.multirun_tab), ("export", window.export_tab)):
            page.setEnabled(True)  # the page reads as it will; the tab itself stays disabled
            page.resize(window.tabs.currentWidget().size())
            target = out / f"{name}.png"
            page.grab().save(str(target))
            logger.info("wrote %s", target)

        window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
