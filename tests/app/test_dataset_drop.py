"""Dropping files on the window: a dataset loads and is summarised; other drops get a message."""

from __future__ import annotations

import shutil
from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from tests.app.conftest import QUICKSTART


def _event(cls, point, mime):
    # PySide6 6.12 wants QPointF, 6.11 only takes QPoint.
    try:
        return cls(
            QPointF(point),
            Qt.DropAction.CopyAction,
            mime,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        )
    except TypeError:
        return cls(
            point,
            Qt.DropAction.CopyAction,
            mime,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        )


def drop_files(window, paths: list[Path]) -> bool:
    """Sends a real drag-enter and drop to the window; returns whether the drag was accepted."""
    mime = QMimeData()  # must outlive both events, or the drop reads freed memory
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    target = window.tabs.currentWidget()
    point = target.mapTo(window, QPoint(40, 40))
    enter = _event(QDragEnterEvent, point, mime)
    QApplication.sendEvent(window, enter)
    if not enter.isAccepted():
        return False
    QApplication.sendEvent(window, _event(QDropEvent, point, mime))
    return True


def test_dropping_a_jsonl_loads_and_summarises_it(window, qtbot, tmp_path):
    data = tmp_path / "my data.jsonl"
    shutil.copy(QUICKSTART, data)
    window.tabs.setCurrentWidget(window.runs_tab)

    with qtbot.waitSignal(window.dataset_tab.sig_dataset_loaded, timeout=20_000) as loaded:
        assert drop_files(window, [data])

    path, summary = loaded.args
    assert Path(path) == data.resolve()
    assert summary["format"] == "sharegpt" and summary["rows"] == 8
    tab = window.dataset_tab
    assert window.tabs.currentWidget() is tab
    assert tab.format_label.text().startswith("ShareGPT")
    assert tab.rows_label.text() == "8"
    assert tab.problems_label.text() == "none found"
    assert "Backpropagate mascot" in tab.preview_edit.toPlainText()
    # The Train tab now trains on it.
    assert window.train_tab.dataset_path == path
    assert "my data.jsonl" in window.train_tab.dataset_label.text()
    assert window.train_tab.start_button.isEnabled()


def test_problems_in_a_dataset_are_listed_with_line_numbers(window, qtbot, tmp_path):
    data = tmp_path / "broken.jsonl"
    good = QUICKSTART.read_text(encoding="utf-8").splitlines()
    data.write_text("\n".join([good[0], "{this is not json", *good[1:]]) + "\n", encoding="utf-8")

    with qtbot.waitSignal(window.dataset_tab.sig_dataset_loaded, timeout=20_000) as loaded:
        drop_files(window, [data])

    problems = loaded.args[1]["problems"]
    assert problems and problems[0]["line"] == 2
    tab = window.dataset_tab
    assert not tab.problems_box.isHidden()
    assert tab.problems_model.rowCount() == len(problems)
    assert tab.problems_model.item(0, 0).text() == "2"


def test_an_unsupported_file_is_refused_with_a_message(window, qtbot, tmp_path):
    image = tmp_path / "holiday.png"
    image.write_bytes(b"\x89PNG\r\n")

    with qtbot.waitSignal(window.dataset_tab.sig_dataset_refused, timeout=5000) as refused:
        assert drop_files(window, [image])

    error = refused.args[0]
    assert error["code"] == "DATA_EXTENSION_UNSUPPORTED"
    banner = window.dataset_tab.banner
    assert banner.isVisible()
    assert "holiday.png: .png files are not supported." in banner.message_label.text()
    assert ".jsonl" in banner.hint_label.text()
    assert window.statusBar().currentMessage() == error["message"]
    assert window.dataset_tab.path is None
    assert window.train_tab.dataset_path is None


def test_several_files_are_refused_with_a_message(window, qtbot, tmp_path):
    files = [tmp_path / "a.jsonl", tmp_path / "b.jsonl"]
    for f in files:
        shutil.copy(QUICKSTART, f)

    with qtbot.waitSignal(window.dataset_tab.sig_dataset_refused, timeout=5000) as refused:
        drop_files(window, files)

    assert "2 files were dropped" in refused.args[0]["message"]
    assert window.dataset_tab.path is None


def test_a_file_the_engine_cannot_use_shows_the_engine_error(window, qtbot, tmp_path):
    data = tmp_path / "unknown.jsonl"
    data.write_text('{"question": 1, "reply": 2}\n', encoding="utf-8")

    with qtbot.waitSignal(window.dataset_tab.sig_dataset_refused, timeout=20_000) as refused:
        drop_files(window, [data])

    assert refused.args[0]["code"] == "DATA_FORMAT_UNKNOWN"
    assert window.dataset_tab.banner.title_label.text() == "Error: DATA_FORMAT_UNKNOWN"
    assert window.train_tab.dataset_path is None


def test_a_drag_without_files_is_not_accepted(window):
    mime = QMimeData()
    mime.setText("just some text")
    enter = _event(QDragEnterEvent, QPoint(40, 40), mime)
    QApplication.sendEvent(window, enter)
    assert not enter.isAccepted()
