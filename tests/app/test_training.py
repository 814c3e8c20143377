"""Real runs of the bundled model through the real worker, driven from the window's buttons."""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.main_window import CLOSE_KEEP_RUNNING
from tests.app.conftest import needs_bundled_model
from tests.app.test_dataset_drop import drop_files

pytestmark = needs_bundled_model()

#: The model every test trains: the small one in resources/, on the CPU.
MODEL = "bundled"
RUN_TIMEOUT_MS = 180_000


@pytest.fixture
def chat_data(tmp_path: Path) -> Path:
    """60 short ShareGPT conversations: enough for the engine to hold out an eval split."""
    path = tmp_path / "chats.jsonl"
    rows = [
        {
            "conversations": [
                {"from": "human", "value": f"What is {i} plus {i}?"},
                {"from": "gpt", "value": f"{i} plus {i} is {2 * i}."},
            ]
        }
        for i in range(60)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def load_dataset(window, qtbot, path: Path) -> None:
    with qtbot.waitSignal(window.dataset_tab.sig_dataset_loaded, timeout=30_000):
        window.open_paths([str(path)])


def configure(window, steps: int, **spins: int) -> None:
    train = window.train_tab
    train.set_model(MODEL)
    train.steps_spin.setValue(steps)
    train.checkpoint_spin.setValue(spins.get("checkpoint_every", 0))
    train.eval_every_spin.setValue(spins.get("eval_every", 0))
    window.tabs.setCurrentWidget(train)


def click(qtbot, button) -> None:
    assert button.isEnabled(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def wait_for_steps(qtbot, train, count: int) -> None:
    qtbot.waitUntil(
        lambda: train.last_step is not None and train.last_step["step"] >= count,
        timeout=RUN_TIMEOUT_MS,
    )


def test_a_short_run_draws_its_curves_and_lands_in_the_runs_view(
    window, qtbot, chat_data, tmp_path
):
    train = window.train_tab
    load_dataset(window, qtbot, chat_data)
    configure(window, steps=6, eval_every=3)

    # Start from the button, and drop another dataset mid-run: it is for the next run only.
    with qtbot.waitSignal(train.sig_run_finished, timeout=RUN_TIMEOUT_MS) as finished:
        click(qtbot, train.start_button)
        assert not train.start_button.isEnabled()
        wait_for_steps(qtbot, train, 1)
        other = tmp_path / "other.jsonl"
        other.write_text(chat_data.read_text(encoding="utf-8"), encoding="utf-8")
        with qtbot.waitSignal(window.dataset_tab.sig_dataset_loaded, timeout=30_000):
            drop_files(window, [other])
        assert window.tabs.currentWidget() is train  # the run stays in view
    status, run_id = finished.args

    # The curve has every step, the eval curve its points, the bar is full.
    assert status == "completed", train.banner.details()
    assert train.loss_plot.drawn_count("train") == 6
    assert train.loss_plot.drawn_count("eval") >= 1
    assert train.lr_plot.drawn_count("lr") == 6
    assert train.progress_bar.value() == train.progress_bar.maximum()
    assert train.step_value.text() == "6 / 6"
    assert "Completed" in train.state_label.text()
    assert "Engine" in train.log_edit.toPlainText()

    # The run trained on the data it started with; the dropped file waits for the next run.
    job = json.loads((window.runs_tab.runs_root / run_id / "job.json").read_text())
    assert Path(job["data"]) == chat_data.resolve()
    assert train.dataset_path == str(other.resolve())

    # The Runs view lists it (the window refreshes it after a run) and redraws its curves.
    qtbot.waitUntil(lambda: run_id in window.runs_tab.run_ids(), timeout=30_000)
    runs = window.runs_tab
    window.tabs.setCurrentWidget(runs)
    runs.select_runs([run_id])
    assert runs.shown_runs == [run_id]
    assert runs.plot.drawn_count(f"{run_id}/train") == 6
    row = next(r for r in runs.model.runs if r["run_id"] == run_id)
    assert row["status"] == "completed"

    # A second run overlays on the first. It is a copy of the first run's folder, cut after
    # three steps: a real run folder, without paying for another worker start.
    second_id = f"{run_id}-copy"
    second_dir = runs.runs_root / second_id
    shutil.copytree(runs.runs_root / run_id, second_dir)
    job["run_id"] = second_id
    (second_dir / "job.json").write_text(json.dumps(job), encoding="utf-8")
    lines = (second_dir / "events.jsonl").read_text(encoding="utf-8").splitlines()
    cut = [i for i, line in enumerate(lines) if '"type":"step"' in line.replace(" ", "")][2]
    (second_dir / "events.jsonl").write_text("\n".join(lines[: cut + 1]) + "\n", encoding="utf-8")
    with qtbot.waitSignal(runs.sig_runs_listed, timeout=30_000):
        click(qtbot, runs.refresh_button)
    runs.select_runs([run_id, second_id])
    assert sorted(runs.shown_runs) == sorted([run_id, second_id])
    assert runs.plot.drawn_count(f"{second_id}/train") == 3
    assert runs.plot.drawn_count(f"{run_id}/train") == 6


def test_pause_resume_and_stop_from_the_buttons(window, qtbot, chat_data):
    train = window.train_tab
    engine = train.engine
    load_dataset(window, qtbot, chat_data)
    configure(window, steps=500)

    click(qtbot, train.start_button)
    wait_for_steps(qtbot, train, 1)

    with qtbot.waitSignal(
        engine.sig_state_changed, timeout=60_000, check_params_cb=lambda state: state == "paused"
    ):
        click(qtbot, train.pause_button)
    assert train.resume_button.isEnabled() and not train.pause_button.isEnabled()
    assert train.state_label.text() == "Paused"
    paused_at = train.last_step["step"]

    with qtbot.waitSignal(
        engine.sig_state_changed, timeout=60_000, check_params_cb=lambda state: state == "running"
    ):
        click(qtbot, train.resume_button)
    wait_for_steps(qtbot, train, paused_at + 1)

    with qtbot.waitSignal(train.sig_run_finished, timeout=RUN_TIMEOUT_MS) as finished:
        click(qtbot, train.stop_button)
    status, run_id = finished.args
    assert status == "stopped", train.banner.details()
    assert "Stopped and saved" in train.state_label.text()
    assert train.last_step["step"] < 500
    run_dir = window.runs_tab.runs_root / run_id
    assert (run_dir / "adapter").is_dir()
    assert train.start_button.isEnabled()
    stopped_at = train.last_step["step"]

    # Resuming from the Runs view continues the run, and the plot shows it from step 1.
    qtbot.waitUntil(lambda: run_id in window.runs_tab.run_ids(), timeout=30_000)
    window.runs_tab.select_runs([run_id])
    click(qtbot, window.runs_tab.resume_button)
    wait_for_steps(qtbot, train, stopped_at + 1)
    xs, _ = train.loss_plot.points("train")
    assert list(xs[: stopped_at + 1]) == list(range(1, stopped_at + 2))
    assert train.run_id == run_id
    with qtbot.waitSignal(train.sig_run_finished, timeout=RUN_TIMEOUT_MS):
        click(qtbot, train.stop_button)


def test_killing_the_worker_shows_an_error_and_fails_the_run(
    window, qtbot, chat_data, monkeypatch
):
    train = window.train_tab
    load_dataset(window, qtbot, chat_data)
    configure(window, steps=500)
    click(qtbot, train.start_button)
    wait_for_steps(qtbot, train, 1)

    # Closing the window asks first; "keep training" leaves everything running.
    monkeypatch.setattr(window, "ask_close_during_run", lambda: CLOSE_KEEP_RUNNING)
    assert not window.close()
    assert window.isVisible() and train.is_running()

    with qtbot.waitSignal(train.sig_run_finished, timeout=60_000) as finished:
        os.kill(train.engine.pid(), signal.SIGKILL)
    status, run_id = finished.args
    assert status == "failed"
    assert train.banner.error["code"] == "WORKER_DIED"
    assert "crashed or was killed" in train.banner.error["message"]
    assert train.state_label.text().startswith("Failed")
    assert train.start_button.isEnabled()

    # The run store knows the run did not finish.
    qtbot.waitUntil(lambda: run_id in window.runs_tab.run_ids(), timeout=30_000)
    row = next(r for r in window.runs_tab.model.runs if r["run_id"] == run_id)
    assert row["status"] in ("failed", "interrupted")
    window.runs_tab.select_runs([run_id])
    assert window.runs_tab.resume_button.isEnabled()


def test_ctrl_c_during_a_run_stops_and_saves_then_closes(window, qtbot, chat_data):
    train = window.train_tab
    load_dataset(window, qtbot, chat_data)
    configure(window, steps=500)
    click(qtbot, train.start_button)
    wait_for_steps(qtbot, train, 1)

    with qtbot.waitSignal(train.sig_run_finished, timeout=RUN_TIMEOUT_MS) as finished:
        window.quit_from_terminal()
    status, run_id = finished.args
    assert status == "stopped"
    assert (window.runs_tab.runs_root / run_id / "adapter").is_dir()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)


def test_invalid_records_are_flagged_before_start_and_skipped_when_asked(
    window, qtbot, chat_data, tmp_path
):
    train = window.train_tab
    data = tmp_path / "some-bad.jsonl"
    data.write_text(chat_data.read_text(encoding="utf-8") + "{not json\n", encoding="utf-8")
    load_dataset(window, qtbot, data)
    configure(window, steps=2)

    # The Train tab says what the engine would do with it, and what to change.
    assert train.dataset_warning_label.isVisibleTo(train)
    assert "will refuse" in train.dataset_warning_label.text()
    train.skip_invalid_check.setChecked(True)
    assert "will be skipped" in train.dataset_warning_label.text()

    with qtbot.waitSignal(train.sig_run_finished, timeout=RUN_TIMEOUT_MS) as finished:
        click(qtbot, train.start_button)
    status, run_id = finished.args
    assert status == "completed", train.banner.details()
    job = json.loads((window.runs_tab.runs_root / run_id / "job.json").read_text())
    assert job["settings"]["data"]["skip_invalid"] is True
    events = (window.runs_tab.runs_root / run_id / "events.jsonl").read_text()
    assert "some-bad.jsonl:61" in events  # the skipped line is reported with its number
