"""The entry point and the window's frame: error dialog, persistence, planned tabs, smoke test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtWidgets import QAbstractButton, QApplication

from app import main as app_main
from app.gpu_monitor import GpuMonitor
from app.main_window import MainWindow
from app.tabs.runs_tab import read_run_curves
from app.widgets.error_dialog import ErrorDialog
from tests.app.conftest import QUICKSTART, REPO_ROOT, needs_bundled_model


def test_an_unexpected_error_reaches_the_user_as_one_dialog_with_details(qtbot):
    try:
        raise ValueError("the bad value")
    except ValueError as exc:
        app_main._excepthook(type(exc), exc, exc.__traceback__)

    dialogs = [
        w for w in QApplication.topLevelWidgets() if isinstance(w, ErrorDialog) and w.isVisible()
    ]
    assert len(dialogs) == 1
    dialog = dialogs[0]
    qtbot.addWidget(dialog)
    assert "ValueError: the bad value" in dialog.summary_label.text()
    assert "Traceback" in dialog.details_edit.toPlainText()
    assert "test_main.py" in dialog.details
    # A second error while the dialog is open joins it: one dialog, never a cascade.
    try:
        raise KeyError("another")
    except KeyError as exc:
        app_main._excepthook(type(exc), exc, exc.__traceback__)
    assert [
        w for w in QApplication.topLevelWidgets() if isinstance(w, ErrorDialog) and w.isVisible()
    ] == [dialog]
    assert "1 more error(s)" in dialog.summary_label.text()
    assert "KeyError: 'another'" in dialog.details_edit.toPlainText()

    dialog.copy_button.click()
    assert QApplication.clipboard().text() == dialog.details
    dialog.close()


def test_the_window_state_persists(qtbot, qsettings, runs_root, no_gpu_nvml):
    first = MainWindow(qsettings, runs_root=runs_root, gpu_monitor=GpuMonitor(no_gpu_nvml))
    qtbot.addWidget(first)
    first.show()
    with qtbot.waitSignal(first.dataset_tab.sig_dataset_loaded, timeout=30_000):
        first.open_paths([str(QUICKSTART)])
    first.resize(700, 520)  # inside the offscreen 800x600 screen
    size = first.size()
    first.train_tab.steps_spin.setValue(77)
    first.train_tab.lora_r_spin.setValue(8)
    first.tabs.setCurrentWidget(first.train_tab)
    first.close()

    second = MainWindow(qsettings, runs_root=runs_root, gpu_monitor=GpuMonitor(no_gpu_nvml))
    qtbot.addWidget(second)
    assert second.tabs.currentWidget() is second.train_tab
    assert second.size() == size
    assert second.train_tab.steps_spin.value() == 77
    assert second.train_tab.settings_overrides() == {"model": None, "steps": 77, "lora": {"r": 8}}
    qtbot.waitUntil(lambda: second.dataset_tab.path == str(QUICKSTART.resolve()), timeout=30_000)
    assert second.train_tab.dataset_path == str(QUICKSTART.resolve())


def test_settings_show_the_engine_defaults_and_help(window):
    train = window.train_tab
    assert train.settings_overrides() == {"model": None}
    assert train.lr_spin.text() == "2.0e-04"
    assert train.lora_r_spin.value() == 16 and train.lora_alpha_spin.value() == 32
    assert train.batch_spin.text() == "auto"
    assert train.steps_spin.text() == "auto (3 epochs)"
    assert train.max_length_spin.value() == 1024
    assert "Adapter rank" in train.lora_r_spin.toolTip()
    assert "Default: 16" in train.lora_r_spin.toolTip()
    train.batch_spin.setValue(8)
    train.checkpoint_spin.setValue(0)
    assert train.settings_overrides() == {"model": None, "batch_size": 8, "checkpoint_every": 0}
    train.set_model("qwen2.5-3b")
    assert train.model_value() == "qwen2.5-3b"
    train.model_combo.setEditText("org/some-model")
    assert train.model_value() == "org/some-model"


def test_the_train_tab_shows_what_the_engine_would_choose_here(window, qtbot):
    train = window.train_tab
    qtbot.waitUntil(lambda: train.plan is not None, timeout=60_000)  # worked out at start-up
    assert train.plan["choices"]["batch_size"] == 4
    assert "On this machine" in train.plan_label.text() and "batch 4" in train.plan_label.text()
    assert "CPU: 4 sequences" in train.plan_label.toolTip()

    # A changed setting is planned again (once, after the edits settle), through the engine.
    with qtbot.waitSignal(train.sig_plan_changed, timeout=60_000) as second:
        train.batch_spin.setValue(3)
        train.set_model("qwen2.5-7b")
    plan = second.args[0]
    assert plan["choices"]["batch_size"] == 3 and plan["model"] == "Qwen/Qwen2.5-7B-Instruct"
    assert "batch 3" in train.plan_label.text()
    assert "without a CUDA GPU" in train.plan_label.text()  # the warning is shown too


def test_tabs_without_their_engine_part_are_disabled_and_say_what_they_will_do(window):
    for page in (window.multirun_tab, window.export_tab):
        index = window.tabs.indexOf(page)
        assert not window.tabs.isTabEnabled(index)
        assert "Not available yet" in window.tabs.tabToolTip(index)
        assert "Not available yet" in page.page.missing_label.text()
        assert page.findChildren(QAbstractButton) == []  # nothing fake to click


def test_run_curves_are_read_back_from_events_jsonl(tmp_path):
    lines = [
        {
            "type": "hello",
            "time": 1,
            "protocol": 1,
            "engine_version": "x",
            "torch_version": "y",
            "device": "cpu",
            "pid": 1,
        },
        *(
            {
                "type": "step",
                "time": 1,
                "step": i,
                "total": 3,
                "loss": 3.0 - i,
                "lr": 1e-4,
                "grad_norm": 1.0,
                "tokens_per_s": 1.0,
                "elapsed": 1.0,
                "eta": 1.0,
            }
            for i in (1, 2, 3)
        ),
        {"type": "eval", "time": 1, "step": 3, "eval_loss": None},
        {"type": "finished", "time": 1, "status": "completed", "result": {}},
    ]
    text = "".join(json.dumps(line) + "\n" for line in lines) + '{"type": "step", "ste'
    (tmp_path / "events.jsonl").write_text(text, encoding="utf-8")

    curves = read_run_curves(tmp_path)

    assert curves.steps == [1, 2, 3] and curves.losses == [2.0, 1.0, 0.0]
    assert curves.eval_steps == [3] and curves.eval_losses[0] != curves.eval_losses[0]  # NaN
    assert curves.status == "completed"
    assert read_run_curves(tmp_path / "missing").steps == []


@needs_bundled_model()
def test_the_smoke_test_trains_and_saves_a_screenshot(tmp_path):
    shot = tmp_path / "smoke.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "BACKPROPAGATE_HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-m", "app", "--smoke-test", str(shot), "--smoke-steps", "2"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "smoke test passed" in out.stdout
    assert shot.stat().st_size > 10_000
    assert not (tmp_path / "runs").exists()  # the smoke test keeps its runs to itself


def test_a_failing_smoke_test_exits_non_zero_with_a_reason(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "BACKPROPAGATE_HOME": str(tmp_path)}
    bad = tmp_path / "notes.docx"
    bad.write_text("x", encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "app", str(bad), "--smoke-test", str(tmp_path / "x.png")],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1
    assert (
        "smoke test FAILED: dataset refused: notes.docx: .docx files are not supported."
        in out.stderr
    )
    assert not Path(tmp_path / "x.png").exists()


def test_ctrl_c_in_the_terminal_closes_the_app(tmp_path):
    """SIGINT reaches the Qt event loop: the app closes cleanly and exits 0."""
    import signal
    import time

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path),
           "BACKPROPAGATE_HOME": str(tmp_path / "home")}
    process = subprocess.Popen([sys.executable, "-m", "app"], cwd=REPO_ROOT, env=env,
                               stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        for line in process.stderr:
            if "window ready" in line or time.monotonic() > deadline:
                break
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        assert "interrupted from the terminal: closing" in process.stderr.read()
    finally:
        process.kill()


def test_a_file_named_on_the_command_line_opens_like_a_drop(tmp_path):
    """``python -m app FILE`` (what the installer's file association runs) loads FILE as the
    dataset, and the app remembers it as the last dataset when it closes."""
    import queue
    import shutil
    import signal
    import threading
    import time

    data = tmp_path / "my chats.jsonl"
    shutil.copy(QUICKSTART, data)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path),
           "BACKPROPAGATE_HOME": str(tmp_path / "home")}
    process = subprocess.Popen([sys.executable, "-m", "app", str(data)], cwd=REPO_ROOT,
                               env=env, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in process.stderr], daemon=True).start()
    try:
        deadline, log = time.monotonic() + 90, ""
        while "dataset loaded" not in log and time.monotonic() < deadline:
            try:
                log += lines.get(timeout=1)
            except queue.Empty:
                pass
        assert f"dataset loaded: {data} (sharegpt, 8 records)" in log
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()

    saved = (tmp_path / "Backpropagate" / "Backpropagate.conf").read_text(encoding="utf-8")
    assert "my chats.jsonl" in saved


def test_the_runs_view_compares_the_settings_of_the_selected_runs(window, qtbot, runs_root):
    from engine.config import Settings
    from engine.protocol import encode, make_event

    for run_id, rank in (("20260101-000000-aaaaaa", 16), ("20260101-000001-bbbbbb", 8)):
        run_dir = runs_root / run_id
        run_dir.mkdir()
        settings = Settings.from_dict({"lora": {"r": rank}}).to_dict()
        job = {"run_id": run_id, "data": "/data/chats.jsonl", "settings": settings,
               "model_path": "/models/tiny", "created": run_id,
               "choices": {"device": "cpu", "batch_size": 4, "reasons": {"batch_size": "CPU"}}}
        (run_dir / "job.json").write_text(json.dumps(job), encoding="utf-8")
        events = [make_event("config", run_id=run_id, run_dir=str(run_dir), config=settings),
                  make_event("finished", status="completed", result={"steps": 0})]
        (run_dir / "events.jsonl").write_text("".join(map(encode, events)), encoding="utf-8")

    runs = window.runs_tab
    with qtbot.waitSignal(runs.sig_runs_listed, timeout=30_000):
        runs.refresh()
    model = runs.settings_model

    def rows():
        return {model.item(r, 0).text(): [model.item(r, c).text()
                                          for c in range(1, model.columnCount())]
                for r in range(model.rowCount())}

    runs.select_runs(["20260101-000000-aaaaaa"])
    one = rows()
    assert one["lora.r"] == ["16"] and one["seed"] == ["42"] and one["chosen.batch_size"] == ["4"]
    assert one["dataset"] == ["chats.jsonl"]

    runs.select_runs(["20260101-000000-aaaaaa", "20260101-000001-bbbbbb"])
    headers = [model.horizontalHeaderItem(c).text() for c in range(1, model.columnCount())]
    by_run = dict(zip(headers, rows()["lora.r"], strict=True))
    assert list(rows()) == ["lora.r"]  # only what differs, one column per run
    assert by_run == {"20260101-000000-aaaaaa": "16", "20260101-000001-bbbbbb": "8"}


def test_the_runs_view_follows_a_run_that_trains_without_this_window(window, qtbot, runs_root):
    """A worker that outlived the app that started it (which crashed, say) keeps writing its
    events.jsonl; the Runs view draws the new steps as they come, then shows it finished."""
    import subprocess
    import sys

    from engine.protocol import encode, make_event

    def step(n):
        return make_event("step", step=n, total=6, loss=2.0 / n, lr=1e-4, grad_norm=1.0,
                          tokens_per_s=1.0, elapsed=n, eta=6 - n)

    run_id = "20260101-000000-cccccc"
    run_dir = runs_root / run_id
    run_dir.mkdir()
    (run_dir / "job.json").write_text(json.dumps({"run_id": run_id, "data": "d.jsonl",
                                                  "settings": {"steps": 6}}), encoding="utf-8")
    events = run_dir / "events.jsonl"
    events.write_text(encode(make_event("config", run_id=run_id, run_dir=str(run_dir),
                                        config={})) + encode(step(1)) + encode(step(2)))
    # Stands in for the worker process itself: alive, and named like it.
    worker = subprocess.Popen([sys.executable, "-c", "import time; print('up', flush=True); "
                               "time.sleep(120)", "engine.worker"], stdout=subprocess.PIPE)
    try:
        assert worker.stdout.readline() == b"up\n"
        (run_dir / "worker.pid").write_text(str(worker.pid))
        runs = window.runs_tab
        with qtbot.waitSignal(runs.sig_runs_listed, timeout=30_000):
            runs.refresh()
        runs.select_runs([run_id])
        assert runs.model.runs[0]["status"] == "running"
        assert runs.plot.drawn_count(f"{run_id}/train") == 2

        with events.open("a") as handle:
            handle.write(encode(step(3)) + encode(step(4)))
            handle.write(encode(step(5))[:20])  # a line the worker is still writing
        qtbot.waitUntil(lambda: runs.plot.drawn_count(f"{run_id}/train") == 4, timeout=10_000)

        with events.open("a") as handle:
            handle.write(encode(step(5))[20:] + encode(step(6)))
            handle.write(encode(make_event("finished", status="completed",
                                           result={"steps": 6, "final_loss": 2 / 6})))
        worker.kill()
        worker.wait()
        qtbot.waitUntil(lambda: runs.model.runs[0]["status"] == "completed", timeout=20_000)
        assert runs.plot.drawn_count(f"{run_id}/train") == 6
        assert not runs._live_timer.isActive()
    finally:
        worker.kill()
        worker.wait()
