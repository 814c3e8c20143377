"""Training throughput: our engine against a plain TRL SFTTrainer script, side by side.

Both train the bundled model with the same LoRA settings, batch size, sequence length and data
(one full epoch over the same mixed-length chats, so both see exactly the same tokens), and the
script prints real (non-padding) tokens per second for each and their ratio.

The baseline is what a competent user writes: TRL's defaults, except precision and gradient
checkpointing set right for the hardware (fp32 and off on a CPU; TRL's bf16 default alone is
about 18x slower on a CPU without AMX and would flatter us).

    python bench/train_throughput.py [--rows 400] [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from engine.presets import BUNDLED_MODEL_DIR  # noqa: E402

BATCH, MAX_LEN, R, ALPHA, DROPOUT, LR = 4, 512, 16, 32, 0.05, 2e-4
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
WORDS = ("model data train loss token batch answer question river stone light quiet garden "
         "number paper window market winter summer bright simple clear").split()


def make_data(path: Path, rows: int, seed: int = 0) -> None:
    """Mixed-length chats: short questions, answers from a few words to a few hundred."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as handle:
        for _ in range(rows):
            question = " ".join(rng.choices(WORDS, k=rng.randint(4, 30))) + "?"
            answer = " ".join(rng.choices(WORDS, k=int(rng.lognormvariate(3.3, 0.9)) + 3))
            record = {"messages": [{"role": "user", "content": question},
                                   {"role": "assistant", "content": answer + "."}]}
            handle.write(json.dumps(record) + "\n")


def real_tokens(path: Path) -> int:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(BUNDLED_MODEL_DIR)
    total = 0
    for line in path.open():
        text = tokenizer.apply_chat_template(json.loads(line)["messages"], tokenize=False)
        total += min(len(tokenizer(text, add_special_tokens=False)["input_ids"]), MAX_LEN)
    return total


def run_engine(data: Path, out: Path) -> float:
    """Seconds our training loop took for one epoch."""
    from engine import Trainer

    last = {}
    Trainer(str(BUNDLED_MODEL_DIR), batch_size=BATCH, learning_rate=LR, checkpoint_every=0,
            eval_every=0, lora={"r": R, "alpha": ALPHA, "dropout": DROPOUT},
            data={"max_length": MAX_LEN}).train(
        data, epochs=1, output=out, on_event=lambda e: last.update(e) if e["type"] == "step"
        else None)
    return last["elapsed"]


def run_trl(data: Path, out: Path) -> float:
    """Seconds a default TRL SFTTrainer took for the same epoch."""
    import torch
    from datasets import load_dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import SFTConfig, SFTTrainer

    cuda = torch.cuda.is_available()
    model = AutoModelForCausalLM.from_pretrained(BUNDLED_MODEL_DIR, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(BUNDLED_MODEL_DIR)
    times = {}

    class Clock(TrainerCallback):
        def on_train_begin(self, *args, **kwargs):
            times["start"] = time.perf_counter()

        def on_train_end(self, *args, **kwargs):
            times["end"] = time.perf_counter()

    config = SFTConfig(
        output_dir=str(out), num_train_epochs=1, per_device_train_batch_size=BATCH,
        learning_rate=LR, max_length=MAX_LEN, report_to="none",
        save_strategy="no", use_cpu=not cuda, bf16=cuda, gradient_checkpointing=cuda,
        seed=42,
    )
    trainer = SFTTrainer(
        model=model, args=config, processing_class=tokenizer,
        train_dataset=load_dataset("json", data_files=str(data), split="train"),
        peft_config=LoraConfig(r=R, lora_alpha=ALPHA, lora_dropout=DROPOUT,
                               target_modules=TARGETS, task_type="CAUSAL_LM"),
        callbacks=[Clock()],
    )
    trainer.train()
    return times["end"] - times["start"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "chats.jsonl"
        make_data(data, args.rows)
        tokens = real_tokens(data)
        ours, theirs = [], []
        for i in range(args.repeat):
            # Alternate the order so neither side always runs on a warmer machine.
            for name in (("engine", "trl") if i % 2 == 0 else ("trl", "engine")):
                runner, sink = (run_engine, ours) if name == "engine" else (run_trl, theirs)
                seconds = runner(data, Path(tmp) / f"{name}-{i}")
                sink.append(tokens / seconds)
                rate = tokens / seconds
                print(f"run {i + 1} {name:<7} {seconds:6.1f} s  {rate:8.0f} real tok/s",
                      flush=True)
    a, b = statistics.median(ours), statistics.median(theirs)
    print(f"\n{args.rows} chats, {tokens} real tokens, batch {BATCH}, max length {MAX_LEN}, "
          f"LoRA r{R}")
    print(f"engine (padding-free)     {a:8.0f} real tok/s (median of {len(ours)})")
    print(f"TRL SFTTrainer (defaults) {b:8.0f} real tok/s (median of {len(theirs)})")
    print(f"ratio engine / TRL        {a / b:8.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
