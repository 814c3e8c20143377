"""Entry point of the desktop app: arguments, logging, the error hook, and the main window.

``python -m app``, ``backprop-studio`` and ``backprop ui`` all call ``main``. Nothing here
imports torch; the engine runs in its own process.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from pathlib import Path
from types import TracebackType

logger = logging.getLogger(__name__)

STYLE_SHEET = Path(__file__).resolve().parent.parent / "resources" / "style.qss"

_error_dialog: list = []  # the open error dialog, kept alive while shown


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="backprop-studio",
        description="Backpropagate: fine-tune a language model on your own data.",
    )
    parser.add_argument("path", nargs="?", help="a dataset file to open, as if dropped")
    parser.add_argument(
        "--smoke-test",
        metavar="PNG",
        help="open the window offscreen, train the bundled model for a few steps on PATH "
        "(default examples/quickstart.jsonl), save a screenshot to PNG and exit",
    )
    parser.add_argument(
        "--smoke-steps",
        type=int,
        default=3,
        metavar="N",
        help="steps the smoke test trains (default 3)",
    )
    parser.add_argument(
        "--smoke-model",
        default="bundled",
        metavar="MODEL",
        help="model the smoke test trains (default: the bundled model)",
    )
    parser.add_argument("--verbose", action="store_true", help="log debug messages")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Runs the app until its window closes; returns the process exit code."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.smoke_test:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from app import APP_NAME, ORGANIZATION

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(ORGANIZATION)
    apply_style(app)
    install_excepthook()

    from app.main_window import MainWindow

    if args.smoke_test:
        from app.smoke_test import SmokeTest

        smoke = SmokeTest(args.smoke_test, args.path, args.smoke_steps, args.smoke_model)
        return smoke.run(app)

    window = MainWindow(QSettings(ORGANIZATION, APP_NAME))
    install_interrupt_handler(app, window)
    window.show()
    if args.path:
        window.open_paths([args.path])
    return app.exec()


def install_interrupt_handler(app, window) -> None:
    """Ctrl+C in the terminal that started the app quits it the way closing it would, but
    without asking: a run in progress is stopped and saved first (resumable), and a second
    Ctrl+C cancels the run and quits at once. Qt's event loop does not return to Python on
    its own, so a short timer lets the interpreter see the signal."""
    import signal

    from PySide6.QtCore import QTimer

    def on_interrupt(signum: int, frame: object) -> None:
        QTimer.singleShot(0, window.quit_from_terminal)

    signal.signal(signal.SIGINT, on_interrupt)
    wake = QTimer(app)
    wake.setInterval(200)
    wake.timeout.connect(lambda: None)
    wake.start()


def apply_style(app) -> None:
    """Fusion everywhere (the same look on every platform) plus our small style sheet."""
    app.setStyle("Fusion")
    try:
        app.setStyleSheet(STYLE_SHEET.read_text(encoding="utf-8"))
    except OSError:
        logger.debug("no style sheet at %s", STYLE_SHEET)


def install_excepthook() -> None:
    """Sends any uncaught exception to one dialog with copyable details, and to the log."""
    sys.excepthook = _excepthook


def _excepthook(
    exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> None:
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, tb)
        return
    details = "".join(traceback.format_exception(exc_type, exc, tb))
    logger.error("unexpected error:\n%s", details)
    show_error_dialog(
        f"Something went wrong inside Backpropagate: {exc_type.__name__}: {exc}\n\n"
        "The app keeps running, but the last action may not have finished. If this repeats, "
        "copy the details into a bug report.",
        details,
    )


def show_error_dialog(summary: str, details: str) -> None:
    """Shows the one error dialog without blocking the event loop; while it is open, later
    errors are added to its details instead of opening more dialogs."""
    from PySide6.QtWidgets import QApplication

    if QApplication.instance() is None:
        sys.stderr.write(details)
        return
    from app.widgets.error_dialog import ErrorDialog

    dialog = _error_dialog[0] if _error_dialog else None
    if dialog is not None and dialog.isVisible():
        dialog.add_error(summary, details)
        return
    dialog = ErrorDialog(summary, details)
    _error_dialog[:] = [dialog]
    dialog.show()
    dialog.raise_()
