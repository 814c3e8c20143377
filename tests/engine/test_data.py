"""Data in: formats detected per file, bad records located, labels masked to assistant turns."""

from __future__ import annotations

import json

import pytest

from engine.data import IGNORE_INDEX, inspect_file, load_dataset, render_records
from engine.errors import BackpropError

CHAT = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital?"},
        {"role": "assistant", "content": "Paris."}, {"role": "user", "content": "Sure?"},
        {"role": "assistant", "content": "Yes, Paris."}]

FORMATS = {
    "sharegpt": {"conversations": [{"from": "system", "value": "Be brief."},
                                   {"from": "human", "value": "Capital?"},
                                   {"from": "gpt", "value": "Paris."},
                                   {"from": "human", "value": "Sure?"},
                                   {"from": "gpt", "value": "Yes, Paris."}]},
    "openai": {"messages": CHAT},
    "alpaca": {"instruction": "Name the capital.", "input": "France", "output": "Paris.",
               "system": "Be brief."},
    "text": {"text": "Paris is the capital of France."},
}


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_each_format_is_detected_and_normalised(tmp_path, fmt):
    ds = load_dataset(write_jsonl(tmp_path / "d.jsonl", [FORMATS[fmt]] * 3))
    assert ds.format == fmt and len(ds.records) == 3
    record = ds.records[0]
    if fmt == "text":
        assert record.text.startswith("Paris") and record.messages is None
    elif fmt == "alpaca":
        assert record.messages == [{"role": "system", "content": "Be brief."},
                                   {"role": "user", "content": "Name the capital.\n\nFrance"},
                                   {"role": "assistant", "content": "Paris."}]
    else:
        assert record.messages == CHAT


def test_json_csv_parquet_and_txt(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps([FORMATS["openai"]] * 2))
    assert load_dataset(tmp_path / "a.json").format == "openai"

    csv_path = tmp_path / "b.csv"
    csv_path.write_text('instruction,input,output\n"Say hi","","Hi!"\n"Add","1 and 2","3"\n')
    ds = load_dataset(csv_path)
    assert ds.format == "alpaca" and ds.records[1].messages[0]["content"] == "Add\n\n1 and 2"
    assert ds.records[1].where == "b.csv:3"

    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist([FORMATS["sharegpt"]] * 2), tmp_path / "c.parquet")
    assert load_dataset(tmp_path / "c.parquet").format == "sharegpt"

    (tmp_path / "d.txt").write_text("First block\nstill first.\n\n\nSecond block.\n")
    ds = load_dataset(tmp_path / "d.txt")
    assert [r.text for r in ds.records] == ["First block\nstill first.", "Second block."]
    assert [r.where for r in ds.records] == ["d.txt:1", "d.txt:5"]


@pytest.mark.parametrize("bad_line, code, fragment", [
    ('{"conversations": [{"from": "human", "value": "hi"}', "DATA_LINE_INVALID", "not valid JSON"),
    ('{"conversations": [{"from": "robot", "value": "hi"}]}', "DATA_LINE_INVALID", "'robot'"),
    ('{"conversations": [{"from": "human", "value": "hi"}]}', "DATA_LINE_INVALID",
     "no assistant answer"),
    ('{"messages": [{"role": "user", "content": "hi"}]}', "DATA_LINE_INVALID", "format"),
    ('{"conversations": [{"from": "gpt", "value": 5.5}, {"from": "gpt", "value": []}]}',
     "DATA_LINE_INVALID", "conversations[1]"),
])
def test_a_bad_line_is_named_with_file_and_line(tmp_path, bad_line, code, fragment):
    good = json.dumps(FORMATS["sharegpt"])
    path = tmp_path / "data.jsonl"
    path.write_text(f"{good}\n\n{good}\n{bad_line}\n{good}\n")
    with pytest.raises(BackpropError) as info:
        load_dataset(path)
    assert info.value.code == code
    assert info.value.where == "data.jsonl:4"  # blank line 2 still counts
    assert fragment in info.value.message

    lenient = load_dataset(path, strict=False)
    assert len(lenient.records) == 3 and lenient.problems[0].line == 4


@pytest.mark.parametrize("content, code", [
    ('{"foo": 1}\n', "DATA_FORMAT_UNKNOWN"), ("", "DATA_EMPTY"), ("\n\n", "DATA_EMPTY")])
def test_unusable_files(tmp_path, content, code):
    path = tmp_path / "x.jsonl"
    path.write_text(content)
    with pytest.raises(BackpropError) as info:
        load_dataset(path)
    assert info.value.code == code


def test_missing_and_unsupported_files(tmp_path):
    with pytest.raises(BackpropError) as info:
        load_dataset(tmp_path / "nope.jsonl")
    assert info.value.code == "DATA_NOT_FOUND"
    (tmp_path / "x.xlsx").write_text("")
    assert inspect_file(tmp_path / "x.xlsx")["error"]["code"] == "DATA_EXTENSION_UNSUPPORTED"


def test_inspect_reports_problems_without_raising(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps(FORMATS["alpaca"]) + "\nnot json\n")
    summary = inspect_file(path)
    assert summary["format"] == "alpaca" and summary["rows"] == 2 and summary["valid_rows"] == 1
    assert summary["problems"][0]["line"] == 2 and summary["error"] is None


@pytest.fixture(scope="module")
def tokenizer(bundled_model):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(bundled_model)


def test_only_assistant_turns_are_trained(tmp_path, tokenizer):
    ds = load_dataset(write_jsonl(tmp_path / "d.jsonl", [FORMATS["openai"]]))
    report = render_records(ds.records, tokenizer, max_length=512)
    example = report.examples[0]
    assert report.mask_method == "prefix"
    trained = tokenizer.decode([t for t in example.labels if t != IGNORE_INDEX])
    # Both answers with their end-of-turn marks, nothing of the prompt or system turn.
    assert "Paris." in trained and "Yes, Paris." in trained
    assert "Capital" not in trained and "Be brief" not in trained and "user" not in trained
    assert trained.count("<|im_end|>") == 2
    # The full sequence is the model's own chat template rendering.
    full = tokenizer.apply_chat_template(CHAT, tokenize=False)
    assert tokenizer.decode(example.input_ids) == full


def test_raw_text_trains_every_token_and_truncation_is_counted(tmp_path, tokenizer):
    long = {"text": "word " * 400}
    ds = load_dataset(write_jsonl(tmp_path / "d.jsonl", [FORMATS["text"], long]))
    report = render_records(ds.records, tokenizer, max_length=64)
    short = report.examples[0]
    assert short.labels == short.input_ids and short.input_ids[-1] == tokenizer.eos_token_id
    assert report.truncated == 1 and len(report.examples[1].input_ids) == 64


def test_records_with_nothing_to_train_after_truncation(tmp_path, tokenizer):
    rec = {"messages": [{"role": "user", "content": "long question " * 100},
                        {"role": "assistant", "content": "short"}]}
    ds = load_dataset(write_jsonl(tmp_path / "d.jsonl", [rec]))
    with pytest.raises(BackpropError) as info:
        render_records(ds.records, tokenizer, max_length=32)
    assert info.value.code == "DATA_NO_TRAINABLE_TOKENS"
