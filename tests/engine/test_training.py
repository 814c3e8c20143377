"""Training the bundled model for real: it learns, only LoRA moves, runs resume exactly."""

from __future__ import annotations

import json

import pytest
import torch

from engine import Trainer
from engine.errors import BackpropError
from engine.training import collate

from .test_data import FORMATS

# Small, fast settings shared by the runs that are compared with each other.
FAST = {"checkpoint_every": 0, "eval_every": 0, "batch_size": 4, "learning_rate": 1e-3}


@pytest.fixture(scope="module")
def reference_run(bundled_model, quickstart, tmp_path_factory):
    """Eight uninterrupted steps on the quickstart data; other tests compare against it."""
    out = tmp_path_factory.mktemp("runs")
    return Trainer(str(bundled_model), **FAST).train(quickstart, steps=8, output=out)


def test_training_lowers_loss_and_moves_only_lora(reference_run, bundled_model):
    from transformers import AutoModelForCausalLM

    losses = [loss for _, loss in reference_run.loss_history]
    assert reference_run.status == "completed" and len(losses) == 8
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3

    base = AutoModelForCausalLM.from_pretrained(bundled_model, dtype=torch.float32)
    original = base.state_dict()
    trained = reference_run.model
    lora_b = [p for n, p in trained.named_parameters() if "lora_B" in n]
    assert lora_b and all(p.abs().sum() > 0 for p in lora_b)  # B starts at zero
    for name, param in trained.named_parameters():
        if "lora_" in name:
            assert param.requires_grad
            continue
        assert not param.requires_grad
        key = name.removeprefix("base_model.model.").replace(".base_layer", "")
        assert torch.equal(param, original[key]), name


def test_stop_and_resume_equals_uninterrupted(reference_run, bundled_model, quickstart,
                                              tmp_path):
    trainer = Trainer(str(bundled_model), **FAST)

    def stop_at_four(event):
        if event["type"] == "step" and event["step"] == 4:
            trainer.stop()

    first = trainer.train(quickstart, steps=8, output=tmp_path, on_event=stop_at_four)
    assert first.status == "stopped" and first.steps == 4
    ckpts = sorted(p.name for p in (tmp_path / first.run_id / "checkpoints").iterdir())
    assert ckpts == ["step-00000004"]

    resumed = Trainer().resume(first.run_id[:15], output=tmp_path)
    assert resumed.status == "completed" and resumed.steps == 8
    expected = [loss for _, loss in reference_run.loss_history]
    got = [loss for _, loss in resumed.loss_history]
    assert got == pytest.approx(expected, abs=1e-5)

    with pytest.raises(BackpropError) as info:
        Trainer().resume(first.run_id, output=tmp_path)
    assert info.value.code == "RUN_ALREADY_FINISHED"


def test_out_of_memory_splits_the_batch_without_changing_the_numbers(
        bundled_model, quickstart, tmp_path, monkeypatch):
    import engine.training as training

    # Without dropout the split batch must give the same numbers (dropout masks would be
    # drawn per chunk, which legitimately changes them).
    settings = {**FAST, "lora": {"dropout": 0.0}}
    plain = Trainer(str(bundled_model), **settings).train(quickstart, steps=8,
                                                          output=tmp_path / "plain")

    real_collate = training.collate
    raised = []

    def collate_that_runs_out_of_memory(chunk, *args):
        if len(chunk) > 2 and not raised:
            raised.append(len(chunk))
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return real_collate(chunk, *args)

    monkeypatch.setattr(training, "collate", collate_that_runs_out_of_memory)
    events = []
    result = Trainer(str(bundled_model), **settings).train(quickstart, steps=8, output=tmp_path,
                                                           on_event=events.append)
    warnings = [e for e in events if e["type"] == "warning"]
    assert raised and warnings[0]["code"] == "OUT_OF_MEMORY"
    expected = [loss for _, loss in plain.loss_history]
    assert [loss for _, loss in result.loss_history] == pytest.approx(expected, abs=1e-5)


def test_padding_free_batches_give_the_same_loss_as_padded(reference_run):
    from transformers import AutoTokenizer

    from engine.data import Record, render_records

    model = reference_run.model
    tokenizer = AutoTokenizer.from_pretrained(model.peft_config["default"].base_model_name_or_path)
    records = [Record(f"r{i}", messages=[{"role": "user", "content": "hi " * (i + 1)},
                                         {"role": "assistant", "content": "ok " * (3 * i + 1)}])
               for i in range(4)]
    examples = render_records(records, tokenizer, 256).examples
    model.eval()
    with torch.no_grad():
        packed = model(**collate(examples, True, tokenizer.pad_token_id, "cpu"),
                       use_cache=False).loss
        padded = model(**collate(examples, False, tokenizer.pad_token_id, "cpu"),
                       use_cache=False).loss
    assert packed.item() == pytest.approx(padded.item(), abs=1e-5)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_each_format_trains(bundled_model, tmp_path, fmt):
    data = tmp_path / "d.jsonl"
    data.write_text((json.dumps(FORMATS[fmt]) + "\n") * 4)
    events = []
    result = Trainer(str(bundled_model), **FAST).train(data, steps=2, output=tmp_path / "runs",
                                                       on_event=events.append)
    dataset = next(e for e in events if e["type"] == "dataset")
    assert result.status == "completed" and dataset["format"] == fmt
    assert all(loss > 0 for _, loss in result.loss_history)


def test_eval_split_env_settings_and_fallbacks(bundled_model, quickstart, tmp_path,
                                               monkeypatch):
    monkeypatch.setenv("BACKPROPAGATE_LORA__R", "4")
    records = quickstart.read_text().splitlines() * 8  # 56-64 records: enough for an eval split
    data = tmp_path / "many.jsonl"
    data.write_text("\n".join(records) + "\n")
    events = []
    result = Trainer(str(bundled_model), steps=4, eval_every=2, checkpoint_every=2,
                     use_unsloth=True, report_to=["wandb"], keep_checkpoints=1,
                     data={"eval_min_rows": 20}).train(data, output=tmp_path,
                                                       on_event=events.append)
    kinds = [e["type"] for e in events]
    assert kinds[0] == "hello" and kinds[-1] == "finished"
    assert [e["step"] for e in events if e["type"] == "eval"] == [2, 4]
    dataset = next(e for e in events if e["type"] == "dataset")
    assert dataset["eval_rows"] == round(0.1 * len(records))

    config = next(e for e in events if e["type"] == "config")
    assert "needs" in config["choices"]["reasons"]["use_unsloth"]  # logged fallback on CPU
    assert config["choices"]["use_unsloth"] is False
    job = json.loads((tmp_path / result.run_id / "job.json").read_text())
    assert job["settings"]["lora"]["r"] == 4  # from the environment
    adapter_config = json.loads((tmp_path / result.run_id / "adapter" /
                                 "adapter_config.json").read_text())
    assert adapter_config["r"] == 4
    # keep_checkpoints=1: only this run's newest checkpoint is left.
    assert [p.name for p in (tmp_path / result.run_id / "checkpoints").iterdir()] == [
        "step-00000004"]
    warned = [e["message"] for e in events if e["type"] == "warning"]
    if not _installed("wandb"):
        assert any("wandb" in m for m in warned)


def _installed(name):
    import importlib.util

    return importlib.util.find_spec(name) is not None


@pytest.mark.skipif(not _installed("bitsandbytes"), reason="bitsandbytes not installed")
def test_qlora_4bit_trains_on_cpu(bundled_model, quickstart, tmp_path):
    result = Trainer(str(bundled_model), load_in_4bit=True, **FAST).train(
        quickstart, steps=3, output=tmp_path)
    assert result.status == "completed"
    kinds = {type(m).__name__ for m in result.model.modules()}
    assert "Linear4bit" in kinds
    assert all(loss == loss and loss > 0 for _, loss in result.loss_history)


def test_save_copies_the_adapter_and_refuses_to_overwrite(reference_run, tmp_path):
    trainer = Trainer()
    trainer.result = reference_run
    target = trainer.save(tmp_path / "my-adapter")
    assert (target / "adapter_model.safetensors").is_file()
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("keep me")
    with pytest.raises(BackpropError):
        trainer.save(tmp_path / "busy")
    assert (tmp_path / "busy" / "notes.txt").read_text() == "keep me"


def test_quickstart_fine_tune_answers_the_trained_questions(bundled_model, quickstart,
                                                             tmp_path):
    from transformers import AutoTokenizer

    result = Trainer(str(bundled_model), **QUICKSTART).train(quickstart, output=tmp_path)
    tokenizer = AutoTokenizer.from_pretrained(bundled_model)
    model = result.model.eval()
    records = [json.loads(line) for line in quickstart.read_text().splitlines() if line.strip()]
    for record in records:
        turns = record["conversations"]
        prompt = [{"role": {"system": "system", "human": "user"}[t["from"]],
                   "content": t["value"]} for t in turns[:-1]]
        ids = tokenizer.apply_chat_template(prompt, add_generation_prompt=True,
                                            return_tensors="pt", return_dict=True)
        with torch.no_grad():
            out = model.generate(**ids, max_new_tokens=48, do_sample=False)
        answer = tokenizer.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)
        assert answer.strip() == turns[-1]["value"].strip()


# Settings that make the bundled model learn the quickstart answers verbatim.
QUICKSTART = {"steps": 60, "learning_rate": 2e-3, "batch_size": 4, "checkpoint_every": 0,
              "eval_every": 0, "lora": {"dropout": 0.0}}


@pytest.mark.skipif(not _installed("tensorboard"), reason="tensorboard not installed")
def test_report_to_tensorboard_logs_every_step(bundled_model, quickstart, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    result = Trainer(str(bundled_model), report_to=["tensorboard"], **FAST).train(
        quickstart, steps=3, output=tmp_path)
    events = EventAccumulator(str(tmp_path / result.run_id / "tensorboard"))
    events.Reload()
    logged = [(e.step, e.value) for e in events.Scalars("train/loss")]
    assert [step for step, _ in logged] == [1, 2, 3]
    assert [v for _, v in logged] == pytest.approx([v for _, v in result.loss_history],
                                                   rel=1e-6)


def test_resume_notices_a_changed_or_missing_dataset(bundled_model, quickstart, tmp_path):
    data = tmp_path / "data.jsonl"
    data.write_text(quickstart.read_text())
    trainer = Trainer(str(bundled_model), **FAST)

    def stop_at_two(event):
        if event["type"] == "step" and event["step"] == 2:
            trainer.stop()

    first = trainer.train(data, steps=6, output=tmp_path / "runs", on_event=stop_at_two)
    assert first.status == "stopped"
    job = json.loads((tmp_path / "runs" / first.run_id / "job.json").read_text())
    assert len(job["data_sha256"]) == 64

    moved = data.rename(tmp_path / "elsewhere.jsonl")
    with pytest.raises(BackpropError) as info:
        Trainer().resume(first.run_id, output=tmp_path / "runs")
    assert info.value.code == "DATA_NOT_FOUND" and "Put the file back" in info.value.hint

    # Edited in between: the run goes on, and says the result is no longer exact.
    moved.rename(data)
    with data.open("a") as handle:
        handle.write(quickstart.read_text().splitlines()[0] + "\n")
    events = []
    resumed = Trainer().resume(first.run_id, output=tmp_path / "runs", on_event=events.append)
    assert resumed.status == "completed" and resumed.steps == 6
    assert [e["code"] for e in events if e["type"] == "warning"] == ["DATA_CHANGED"]


def test_skip_invalid_trains_on_the_rest_and_names_each_skipped_line(
        bundled_model, quickstart, tmp_path):
    data = tmp_path / "mixed.jsonl"
    lines = quickstart.read_text().splitlines()
    data.write_text("\n".join([lines[0], '{"conversations": [{"from": "robot"}]}', *lines[1:]])
                    + "\n")
    with pytest.raises(BackpropError) as info:
        Trainer(str(bundled_model), **FAST).train(data, steps=1, output=tmp_path)
    assert info.value.code == "DATA_LINE_INVALID" and info.value.where == "mixed.jsonl:2"
    assert not any((tmp_path).glob("2*"))  # refused before a run folder was made

    events = []
    result = Trainer(str(bundled_model), data={"skip_invalid": True}, **FAST).train(
        data, steps=1, output=tmp_path, on_event=events.append)
    assert result.status == "completed"
    warnings = [e for e in events if e["type"] == "warning"]
    assert [(w["code"], w["where"]) for w in warnings] == [("DATA_LINE_INVALID", "mixed.jsonl:2")]
    assert "mixed.jsonl:2" in warnings[0]["message"]
    dataset = next(e for e in events if e["type"] == "dataset")
    assert dataset["rows"] == len(lines)


def test_without_steps_a_run_makes_three_passes(bundled_model, quickstart, tmp_path):
    result = Trainer(str(bundled_model), **FAST).train(quickstart, output=tmp_path)
    records = len(quickstart.read_text().splitlines())
    assert result.total_steps == result.steps == 3 * -(-records // FAST["batch_size"])


class FakeGpuTemperature:
    """Stands in for ``torch.cuda.temperature``: an int in °C per call, from a script, then
    ``then`` for good."""

    def __init__(self, readings, then=60):
        self.readings = list(readings)
        self.then = then
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return self.readings.pop(0) if self.readings else self.then


def test_a_hot_gpu_pauses_training_until_it_cools_and_the_numbers_do_not_change(
        reference_run, bundled_model, quickstart, tmp_path, monkeypatch):
    import engine.thermal as thermal

    gpu = FakeGpuTemperature([70, 70, 93, 91, 85, 79])
    monkeypatch.setattr(thermal, "gpu_temperature_reader", lambda device: gpu)
    monkeypatch.setattr(thermal, "CHECK_EVERY_S", 0.0)
    monkeypatch.setattr(thermal, "COOL_POLL_S", 0.01)
    events = []
    result = Trainer(str(bundled_model), **FAST).train(quickstart, steps=8, output=tmp_path,
                                                       on_event=events.append)

    held = [e for e in events if e["type"] in ("paused", "resumed")]
    assert [(e["type"], e["step"], e.get("reason")) for e in held] == [
        ("paused", 2, "thermal"), ("resumed", 2, "thermal")]
    assert held[0]["temperature"] == 93 and held[0]["resume_at"] == 80
    assert held[1]["temperature"] == 79
    assert result.status == "completed" and gpu.calls >= 6
    expected = [loss for _, loss in reference_run.loss_history]
    assert [loss for _, loss in result.loss_history] == pytest.approx(expected, abs=1e-6)


def test_stop_during_a_thermal_pause_saves_and_ends(bundled_model, quickstart, tmp_path,
                                                    monkeypatch):
    import engine.thermal as thermal

    gpu = FakeGpuTemperature([70, 70], then=95)  # hot after two steps, and it stays hot
    monkeypatch.setattr(thermal, "gpu_temperature_reader", lambda device: gpu)
    monkeypatch.setattr(thermal, "CHECK_EVERY_S", 0.0)
    monkeypatch.setattr(thermal, "COOL_POLL_S", 0.01)
    trainer = Trainer(str(bundled_model), **FAST)

    def on_event(event):
        if event["type"] == "paused":
            trainer.stop()

    result = trainer.train(quickstart, steps=8, output=tmp_path, on_event=on_event)
    assert result.status == "stopped" and result.steps == 2
    checkpoints = [p.name for p in (tmp_path / result.run_id / "checkpoints").iterdir()]
    assert checkpoints == ["step-00000002"] and result.adapter_path
