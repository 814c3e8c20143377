"""The worker wrapper against misbehaving workers: garbage, cut lines, crashes, wrong versions."""

from __future__ import annotations

import sys

import pytest

from app.engine_process import IDLE, PAUSED, EngineProcess
from app.main_window import CLOSE_STOP_AND_SAVE
from tests.app.conftest import FAKE_WORKER, QUICKSTART


def start_fake(engine: EngineProcess, mode: str) -> None:
    engine.start(sys.executable, [str(FAKE_WORKER), mode])


def test_garbage_and_cut_lines_do_not_break_the_window(window, qtbot):
    train = window.train_tab
    engine = train.engine
    errors = []
    engine.sig_error_occurred.connect(errors.append)

    with qtbot.waitSignal(engine.sig_run_finished, timeout=20_000) as finished:
        start_fake(engine, "garbage")

    # Every well-formed step arrived, whole, in order; the bad lines went to the log.
    assert finished.args[0] == "completed"
    train.loss_plot.redraw()
    assert train.loss_plot.point_count("train") == 5
    assert list(train.loss_plot._series["train"].x[:5]) == [1, 2, 3, 4, 5]
    assert train.progress_bar.value() == train.progress_bar.maximum()
    log = train.log_edit.toPlainText()
    assert "plain text on stdout" in log
    assert "{not json at all" in log
    assert engine.bad_lines >= 5
    # The worker's own error event is shown, and the window is still usable.
    assert [e["code"] for e in errors] == ["PROTOCOL_BAD_COMMAND"]
    assert not train.banner.isHidden()
    assert train.banner.title_label.text() == "Error: PROTOCOL_BAD_COMMAND"
    assert train.banner.message_label.text() == "fake complaint"
    assert train.banner.hint_label.text() == "What to do: none"
    assert engine.state == IDLE
    assert train.start_button.isEnabled() == bool(train.dataset_path)


def test_a_dying_worker_fails_the_run_with_an_error(window, qtbot):
    train = window.train_tab
    engine = train.engine

    with qtbot.waitSignal(engine.sig_run_finished, timeout=20_000) as finished:
        start_fake(engine, "die")

    assert finished.args[0] == "failed"
    assert train.banner.error["code"] == "WORKER_DIED"
    assert "exited with code 3" in train.banner.error["message"]
    assert "about to crash" in train.log_edit.toPlainText()
    assert train.state_label.text().startswith("Failed")


def test_a_worker_that_cannot_start_is_reported_without_blocking(window, qtbot):
    engine = window.train_tab.engine

    with qtbot.waitSignal(engine.sig_run_finished, timeout=10_000) as finished:
        engine.start("/nonexistent/python-for-the-engine", ["-m", "engine.worker", "x.json"])

    assert finished.args[0] == "failed"
    error = window.train_tab.banner.error
    assert error["code"] == "WORKER_START_FAILED"
    assert "/nonexistent/python-for-the-engine" in error["message"]
    assert "BACKPROPAGATE_ENGINE_PYTHON" in error["hint"]


def test_a_worker_with_another_protocol_version_is_refused(window, qtbot):
    engine = window.train_tab.engine

    with qtbot.waitSignal(engine.sig_run_finished, timeout=20_000) as finished:
        start_fake(engine, "mismatch")

    assert finished.args[0] == "failed"
    error = window.train_tab.banner.error
    assert error["code"] == "PROTOCOL_MISMATCH"
    assert "version 2" in error["message"] and "version 1" in error["message"]


def test_stop_kills_a_worker_that_does_not_answer_in_time(qtbot):
    engine = EngineProcess()
    states = []
    engine.sig_state_changed.connect(states.append)

    start_fake(engine, "ignore-stop")
    qtbot.waitUntil(lambda: engine.state == "running", timeout=20_000)
    with qtbot.waitSignal(engine.sig_run_finished, timeout=20_000) as finished:
        engine.stop(timeout_ms=300)

    # No "finished" event came, so the run did not complete: it was killed.
    assert finished.args[0] == "failed"
    assert "stopping" in states
    assert engine.state == IDLE


@pytest.mark.parametrize("name", ["pause", "resume", "stop"])
def test_commands_without_a_worker_are_ignored(qtbot, name):
    engine = EngineProcess()
    getattr(engine, name)()
    assert engine.state == IDLE


def test_closing_during_a_run_stops_and_saves_before_the_window_closes(window, qtbot, monkeypatch):
    train = window.train_tab
    with qtbot.waitSignal(window.dataset_tab.sig_dataset_loaded, timeout=30_000):
        window.open_paths([str(QUICKSTART)])
    start_fake(train.engine, "obedient")
    qtbot.waitUntil(lambda: train.last_step is not None, timeout=20_000)

    monkeypatch.setattr(window, "ask_close_during_run", lambda: CLOSE_STOP_AND_SAVE)
    with qtbot.waitSignal(train.sig_run_finished, timeout=20_000) as finished:
        assert not window.close()  # held open until the worker has saved
        assert window.isVisible()
    assert finished.args[0] == "stopped"
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
    assert window.settings.value("dataset/last") == str(QUICKSTART.resolve())


def test_a_thermal_pause_says_why_and_ends_by_itself(window, qtbot):
    train = window.train_tab
    engine = train.engine
    start_fake(engine, "thermal")
    qtbot.waitUntil(lambda: engine.state == PAUSED, timeout=20_000)
    assert "too hot" in train.state_label.text()
    assert "thermal" in train.log_edit.toPlainText()

    with qtbot.waitSignal(engine.sig_run_finished, timeout=20_000) as finished:
        train.resume_button.click()  # the worker answers that the GPU decides
    assert finished.args[0] == "completed"
    assert train.banner.error["code"] == "THERMAL_PAUSE"


def test_a_model_download_shows_its_progress_before_the_first_step(window, qtbot):
    train = window.train_tab
    start_fake(train.engine, "download")
    qtbot.waitUntil(lambda: "Downloading org/big-model: 5.0 of 15.0 GB"
                    in train.state_label.text(), timeout=20_000)
    assert train.progress_bar.text().startswith("Downloading the model · 33%")
    qtbot.waitUntil(lambda: train.last_status == "completed", timeout=20_000)
    assert "Model files ready: org/big-model (15.0 GB)" in train.log_edit.toPlainText()
