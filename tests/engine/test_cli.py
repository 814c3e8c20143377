"""The ``backprop`` command line in real subprocesses: exit codes, JSON output, redaction."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess

from tests.conftest import PYTHON, REPO, python_env


def backprop(*args, timeout=300, **kw):
    return subprocess.run([PYTHON, "-m", "engine", *args], capture_output=True, text=True,
                          cwd=REPO, env=python_env(), timeout=timeout, **kw)


def test_train_list_show_and_info(bundled_model, quickstart, tmp_path):
    runs = str(tmp_path / "runs")
    out = backprop("train", "--data", str(quickstart), "--model", str(bundled_model),
                   "--steps", "3", "--output", runs, "--set", "lora.r=8",
                   "--set", "checkpoint_every=2")
    assert out.returncode == 0, out.stderr[-2000:]
    assert "completed at step 3/3" in out.stdout and "adapter:" in out.stdout

    listed = json.loads(backprop("list-runs", "--json", "-o", runs).stdout)
    assert len(listed) == 1 and listed[0]["status"] == "completed"
    run_id = listed[0]["run_id"]
    assert listed[0]["steps"] == 3 and listed[0]["final_loss"] > 0

    shown = json.loads(backprop("show-run", run_id[:17], "--json", "-o", runs).stdout)
    assert shown["settings"]["lora"]["r"] == 8
    assert shown["checkpoints"] == ["step-00000002"] and len(shown["loss_history"]) == 3
    assert shown["choices"]["reasons"]["precision"]

    # The index is a cache: deleted or damaged, it is rebuilt from the run folders.
    (tmp_path / "runs" / "index.sqlite3").write_bytes(b"not a database")
    again = json.loads(backprop("list-runs", "--json", "-o", runs).stdout)
    assert [r["run_id"] for r in again] == [run_id]

    info = json.loads(backprop("info", "--json").stdout)
    assert info["torch"] and info["gpus"] == [] and info["packages"]["transformers"]
    assert info["default_model"].endswith("tiny-chat")


def test_bad_input_exits_1_with_code_and_hint(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"conversations": [{"from": "human", "value": "hi"}]}\n')
    out = backprop("train", "--data", str(bad), "--output", str(tmp_path / "runs"))
    assert out.returncode == 1
    assert "[DATA_LINE_INVALID] bad.jsonl:1" in out.stderr and "hint:" in out.stderr
    assert not (tmp_path / "runs").exists()  # refused before any run folder was made

    out = backprop("show-run", "nope", "-o", str(tmp_path / "runs"))
    assert out.returncode == 1 and "RUN_NOT_FOUND" in out.stderr
    assert backprop("train").returncode == 1  # usage error: bad input too
    assert backprop("inspect-data", str(bad)).returncode == 1  # no usable record


def test_secrets_are_redacted_unless_verbose(quickstart, tmp_path):
    secret_model = "/models/hf_abcdefghijklmnopqrstuv/sk-0123456789abcdef"
    args = ["train", "--data", str(quickstart), "--model", secret_model,
            "--output", str(tmp_path / "runs")]
    out = backprop(*args)
    assert out.returncode == 1 and "MODEL_NOT_FOUND" in out.stderr
    assert "hf_abcdefghij" not in out.stderr and "sk-0123456789" not in out.stderr
    assert "hf_***" in out.stderr
    assert "hf_abcdefghij" in backprop("--verbose", *args).stderr


def test_ctrl_c_saves_a_checkpoint_and_exits_130(bundled_model, quickstart, tmp_path):
    proc = subprocess.Popen(
        [PYTHON, "-m", "engine", "train", "--data", str(quickstart), "--model",
         str(bundled_model), "--steps", "5000", "--json", "--output", str(tmp_path / "runs")],
        cwd=REPO, env=python_env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        text=True)
    for line in proc.stdout:
        if json.loads(line)["type"] == "step":
            break
    proc.send_signal(signal.SIGINT)
    rest = [json.loads(line) for line in proc.stdout]
    assert proc.wait(timeout=60) == 130
    assert rest[-1]["type"] == "finished" and rest[-1]["status"] == "stopped"
    assert any(e["type"] == "checkpoint" for e in rest)


def test_ask_answers_with_the_trained_adapter_or_its_last_checkpoint(bundled_model, quickstart,
                                                                     tmp_path):
    runs = str(tmp_path / "runs")
    nothing = backprop("ask", "latest", "hi", "-o", runs)
    assert nothing.returncode == 1 and "RUN_NOT_FOUND" in nothing.stderr
    out = backprop("train", "--data", str(quickstart), "--model", str(bundled_model),
                   "--steps", "60", "--lr", "2e-3", "--set", "lora.dropout=0",
                   "--set", "checkpoint_every=20", "--output", runs)
    assert out.returncode == 0, out.stderr[-2000:]

    question, expected = "What color is the Backpropagate logo?", (
        "The logo is a teal triangle inside an orange circle.")
    asked = backprop("ask", "latest", question, "-o", runs)
    assert asked.returncode == 0, asked.stderr[-2000:]
    assert asked.stdout.strip() == expected and "final adapter" in asked.stderr

    # A run that never wrote its final adapter (it crashed) answers from its last checkpoint.
    run_dir = next(p for p in (tmp_path / "runs").iterdir() if p.is_dir() and
                   (p / "job.json").is_file())
    shutil.rmtree(run_dir / "adapter")
    asked = subprocess.run([PYTHON, "-m", "engine", "ask", run_dir.name, "-o", runs],
                           input=f"{question}\n\n", capture_output=True, text=True, cwd=REPO,
                           env=python_env(), timeout=300)
    assert asked.returncode == 0 and "checkpoint at step 60" in asked.stderr
    assert expected in asked.stdout


def test_plan_says_what_a_run_would_choose_without_training(tmp_path):
    plan = json.loads(backprop("plan", "--json").stdout)
    assert plan["device"].startswith("CPU") and plan["model"].endswith("tiny-chat")
    assert plan["choices"]["batch_size"] == 4 and plan["choices"]["reasons"]["batch_size"]
    assert plan["memory"] is None and plan["warnings"] == []  # no GPU, a toy model

    # A preset is sized from its recorded config: nothing is downloaded.
    plan = json.loads(backprop("plan", "--model", "qwen2.5-7b", "--set", "batch_size=2",
                               "--json").stdout)
    assert round(plan["params_b"], 2) == 7.62 and plan["choices"]["batch_size"] == 2
    assert any("without a CUDA GPU" in w for w in plan["warnings"])
    assert not (tmp_path / "runs").exists()

    out = backprop("plan", "--set", "lora.r=abc")
    assert out.returncode == 1 and "CONFIG_INVALID" in out.stderr
