"""The ``backprop`` command line: train, resume, ask, plan, info, list-runs, show-run, ui, ….

Exit codes: 0 ok, 1 bad input, 2 runtime failure, 130 interrupted. Commands that list things
take ``--json``. Heavy imports happen inside the commands that need them, so ``--help``,
``list-runs`` and ``inspect-data`` answer without loading torch.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from engine import __version__
from engine.config import describe
from engine.errors import BackpropError, redact
from engine.protocol import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_OK

_EPILOG = "Exit codes: 0 ok, 1 bad input, 2 runtime failure, 130 interrupted."


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="backprop", description="Fine-tune open LLMs on your own data.", epilog=_EPILOG)
    parser.add_argument("--version", action="version", version=f"backprop {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="debug logs and unredacted secrets")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    settings_help = "\n".join(f"  {name} (default {default!r}): {text}"
                              for name, text, default in describe())
    train = sub.add_parser(
        "train", help="fine-tune a model on a dataset", epilog=f"Settings for --set:\n"
        f"{settings_help}\n\n{_EPILOG}", formatter_class=argparse.RawDescriptionHelpFormatter)
    train.add_argument("--data", "-d", required=True, help="dataset file (.jsonl .json .csv "
                       ".parquet .txt)")
    train.add_argument("--model", "-m", help="local folder, Hugging Face id or preset "
                       "(default: bundled model on CPU, Qwen2.5-7B-Instruct on a GPU)")
    train.add_argument("--steps", type=int, help="optimizer steps")
    train.add_argument("--epochs", type=float, help="passes over the data (if no --steps)")
    train.add_argument("--output", "-o", help="runs folder (default: the user data folder)")
    train.add_argument("--lr", type=float, dest="learning_rate", help="peak learning rate")
    train.add_argument("--batch-size", help="sequences per step, or 'auto'")
    train.add_argument("--lora-r", type=int, help="LoRA rank")
    train.add_argument("--max-length", type=int, help="longest sequence in tokens")
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="any setting, e.g. --set lora.alpha=64 --set report_to=tensorboard")
    train.add_argument("--json", action="store_true",
                       help="print protocol events as JSON lines instead of a progress bar")

    resume = sub.add_parser("resume", help="continue a run from its last checkpoint",
                            epilog=_EPILOG)
    resume.add_argument("run_id", help="run id or unique prefix")
    resume.add_argument("--output", "-o", help="runs folder")
    resume.add_argument("--json", action="store_true", help="print protocol events")

    ask = sub.add_parser("ask", help="ask a trained run a question (greedy reply)",
                         epilog=_EPILOG)
    ask.add_argument("run_id", help="run id, unique prefix, or 'latest'")
    ask.add_argument("question", nargs="?",
                     help="the question; without one, a prompt reads questions until an empty "
                     "line")
    ask.add_argument("--system", help="a system prompt to put first")
    ask.add_argument("--max-new-tokens", type=int, default=256)
    ask.add_argument("--output", "-o", help="runs folder")

    plan = sub.add_parser(
        "plan", help="what a run would choose on this machine (precision, 4-bit, batch size, "
        "memory), without training", epilog=_EPILOG)
    plan.add_argument("--model", "-m", help="as for train")
    plan.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                      help="any setting, as for train")
    plan.add_argument("--json", action="store_true")

    info = sub.add_parser("info", help="Python, torch, CUDA, GPU, driver and package versions")
    info.add_argument("--json", action="store_true")

    runs = sub.add_parser("list-runs", help="list runs, newest first")
    runs.add_argument("--output", "-o", help="runs folder")
    runs.add_argument("--status", choices=["running", "completed", "stopped", "failed",
                                           "interrupted"])
    runs.add_argument("--json", action="store_true")
    runs.add_argument("--rebuild-index", action="store_true",
                      help="recreate the index from the run folders first")

    show = sub.add_parser("show-run", help="details of one run")
    show.add_argument("run_id", help="run id or unique prefix")
    show.add_argument("--output", "-o", help="runs folder")
    show.add_argument("--json", action="store_true")

    inspect = sub.add_parser("inspect-data", help="detect a dataset's format and problems")
    inspect.add_argument("file")
    inspect.add_argument("--json", action="store_true")

    presets = sub.add_parser("presets", help="the suggested models")
    presets.add_argument("--json", action="store_true")

    sub.add_parser("ui", help="open the desktop app")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        # argparse exits 2 on a usage error; for us every bad input is 1.
        return EXIT_OK if exc.code in (0, None) else EXIT_BAD_INPUT
    if not args.command:
        parser.print_help()
        return EXIT_BAD_INPUT
    from engine.logs import setup_logging

    setup_logging(args.verbose)
    if not sys.stderr.isatty():
        # Download and loading bars redraw with carriage returns: useful on a terminal,
        # a pile of half-lines in a log file or CI output.
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    handler = _COMMANDS[args.command]
    try:
        return handler(args)
    except BackpropError as exc:
        text = str(exc)
        _err(text if args.verbose else redact(text))
        return exc.category
    except KeyboardInterrupt:
        _err("interrupted")
        return EXIT_INTERRUPTED


# --- commands ------------------------------------------------------------------------------


def cmd_train(args: argparse.Namespace) -> int:
    from engine.trainer import Trainer

    settings = _set_options(args.set)
    for name in ("learning_rate", "batch_size", "lora_r", "max_length"):
        value = getattr(args, name)
        if value is not None:
            key = {"lora_r": "lora__r", "max_length": "data__max_length"}.get(name, name)
            settings[key] = value
    trainer = Trainer(args.model, **settings)
    return _run_with_progress(
        lambda on_event: trainer.train(args.data, steps=args.steps, epochs=args.epochs,
                                       output=args.output, on_event=on_event),
        trainer, args.json)


def _set_options(items: list[str]) -> dict[str, Any]:
    """``--set lora.r=8`` options as settings overrides (``{"lora__r": "8"}``)."""
    settings: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise BackpropError("CONFIG_INVALID", f"--set {item!r} is not KEY=VALUE",
                                where="--set")
        settings[key.strip().replace(".", "__")] = value
    return settings


def cmd_plan(args: argparse.Namespace) -> int:
    from engine.config import resolve_settings
    from engine.planning import plan_run

    overrides = _set_options(args.set)
    if args.model:
        overrides["model"] = args.model
    plan = plan_run(resolve_settings(overrides))
    if args.json:
        print(json.dumps(plan, indent=2))
        return EXIT_OK
    print(f"model: {plan['model']} ({plan['model_reason']})")
    print(f"device: {plan['device']}")
    choices = plan["choices"]
    for name, reason in choices["reasons"].items():
        print(f"  {name}: {choices.get(name)} ({reason})")
    if plan["memory"]:
        m = plan["memory"]
        print(f"GPU memory: ~{m['needed_gb']:.1f} GB of ~{m['usable_gb']:.1f} GB usable "
              f"(weights {m['weights_gb']:.1f}, adapter {m['adapter_gb']:.1f}, "
              f"{m['per_sequence_gb']:.2f} per sequence)")
    for warning in plan["warnings"]:
        print(f"warning: {warning}")
    return EXIT_OK


def cmd_resume(args: argparse.Namespace) -> int:
    from engine.trainer import Trainer

    trainer = Trainer()
    return _run_with_progress(
        lambda on_event: trainer.resume(args.run_id, output=args.output, on_event=on_event),
        trainer, args.json)


def _run_with_progress(run: Any, trainer: Any, as_json: bool) -> int:
    """Runs training with a progress display; Ctrl-C saves a checkpoint and exits 130."""
    interrupted = []

    def on_sigint(_signum: int, _frame: Any) -> None:
        if interrupted:
            raise KeyboardInterrupt
        interrupted.append(True)
        _err("\nstopping after this step and saving a checkpoint (Ctrl-C again to abort)")
        trainer.stop()

    signal.signal(signal.SIGINT, on_sigint)
    progress = _JsonLines() if as_json else _Progress(sys.stdout.isatty())
    result = run(progress)
    progress.close()
    if not as_json:
        print(f"run {result.run_id}: {result.status} at step {result.steps}/"
              f"{result.total_steps}, final loss {_fmt(result.final_loss)}")
        if result.adapter_path:
            print(f"adapter: {result.adapter_path}")
        if result.status == "stopped":
            print(f"resume with: backprop resume {result.run_id}")
    return EXIT_INTERRUPTED if interrupted else EXIT_OK


class _JsonLines:
    def __call__(self, event: dict[str, Any]) -> None:
        from engine.protocol import encode

        sys.stdout.write(encode(event))
        sys.stdout.flush()

    def close(self) -> None:
        pass


class _Progress:
    """A one-line progress bar on a terminal; a line every ~5% when piped."""

    def __init__(self, tty: bool) -> None:
        self.tty = tty
        self.last_print = 0.0

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "step":
            self._step(event)
        elif kind == "dataset":
            self._line(f"data: {event['format']}, {event['train_rows']} train / "
                       f"{event['eval_rows']} eval records, {event['trained_tokens']} trained "
                       f"of {event['tokens']} tokens")
        elif kind == "config":
            choices = event.get("choices", {})
            self._line(f"run {event['run_id']} on {choices.get('device')} "
                       f"({choices.get('precision')}), model {event.get('model_path')}")
        elif kind == "eval":
            self._line(f"eval loss {_fmt(event['eval_loss'])} at step {event['step']}")
        elif kind == "warning":
            self._line(f"warning [{event['code']}]: {event['message']}", err=True)
        elif kind == "download":
            self._download(event)

    def _step(self, e: dict[str, Any]) -> None:
        step, total = e["step"], e["total"]
        text = (f"step {step}/{total} loss {_fmt(e['loss'])} lr {e['lr']:.2e} "
                f"{e['tokens_per_s']:,.0f} tok/s ETA {_duration(e['eta'])}")
        if self.tty:
            width = 24
            filled = int(width * step / max(total, 1))
            sys.stdout.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {text}\x1b[K")
            sys.stdout.flush()
            if step == total:
                sys.stdout.write("\n")
        elif step == total or step % max(1, total // 20) == 0:
            print(text, flush=True)

    def _download(self, e: dict[str, Any]) -> None:
        done, total = e["done"], max(e["total"], 1)
        text = f"downloading {e['model']}: {done / 2**30:.2f} of {total / 2**30:.2f} GB"
        if self.tty:
            sys.stdout.write(f"\r{text}\x1b[K")
            sys.stdout.flush()
            if done >= total:
                sys.stdout.write("\n")
        elif done >= total or time.monotonic() - self.last_print > 10:
            self.last_print = time.monotonic()
            print(text, flush=True)

    def _line(self, text: str, err: bool = False) -> None:
        stream = sys.stderr if err else sys.stdout
        if self.tty:
            stream.write("\r\x1b[K")
        print(text, file=stream, flush=True)

    def close(self) -> None:
        pass


def cmd_ask(args: argparse.Namespace) -> int:
    from engine.inference import answer, load_trained
    from engine.runs import RunStore

    run_dir = RunStore(args.output).find(args.run_id)
    model, tokenizer, which = load_trained(run_dir)
    _err(f"run {run_dir.name}, {which}")
    start = [{"role": "system", "content": args.system}] if args.system else []
    if args.question:
        print(answer(model, tokenizer, [*start, {"role": "user", "content": args.question}],
                     args.max_new_tokens))
        return EXIT_OK
    # Each question stands alone: the toy and the real models alike answer best that way, and
    # it shows exactly what training taught.
    while True:
        try:
            question = input("> ").strip()
        except EOFError:
            return EXIT_OK
        if not question:
            return EXIT_OK
        print(answer(model, tokenizer, [*start, {"role": "user", "content": question}],
                     args.max_new_tokens), flush=True)


def cmd_info(args: argparse.Namespace) -> int:
    info = gather_info()
    if args.json:
        print(json.dumps(info, indent=2))
        return EXIT_OK
    print(f"backprop {info['engine_version']} on Python {info['python']} ({info['platform']})")
    print(f"torch {info['torch']}, CUDA {info['cuda_version'] or 'not available'}")
    if info["gpus"]:
        for gpu in info["gpus"]:
            print(f"  GPU {gpu['index']}: {gpu['name']}, {gpu['total_gb']:.1f} GB")
    else:
        print("  no CUDA GPU: training runs on the CPU")
    print(f"NVIDIA driver: {info['driver'] or 'not found'}")
    print(f"default model: {info['default_model']} ({info['default_model_reason']})")
    print(f"runs folder: {info['runs_root']}")
    print("packages:")
    for name, version in info["packages"].items():
        print(f"  {name:<20} {version or '-'}")
    return EXIT_OK


def gather_info() -> dict[str, Any]:
    from engine import hardware, models
    from engine.runs import default_runs_root

    hw = hardware.probe()
    model, reason = models.resolve_model_name(None, hw.cuda)
    packages = {}
    for name in ("torch", "transformers", "peft", "trl", "datasets", "accelerate",
                 "bitsandbytes", "unsloth", "llama-cpp-python", "gguf", "PySide6-Essentials",
                 "pyqtgraph", "nvidia-ml-py", "platformdirs"):
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    return {
        "engine_version": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": hw.torch_version,
        "cuda_version": hw.cuda_version if hw.cuda else None,
        "gpus": [g.__dict__ for g in hw.gpus],
        "cpu": hw.cpu_capability,
        "cpu_threads": hw.cpu_threads,
        "ram_gb": round(hw.ram_gb, 1),
        "driver": _driver_version(),
        "default_model": model,
        "default_model_reason": reason,
        "runs_root": str(default_runs_root()),
        "packages": packages,
    }


def _driver_version() -> str | None:
    try:
        import pynvml

        pynvml.nvmlInit()
        try:
            version = pynvml.nvmlSystemGetDriverVersion()
        finally:
            pynvml.nvmlShutdown()
        return version.decode() if isinstance(version, bytes) else version
    except Exception:  # noqa: BLE001 - no library, no driver, no permission: all "not found"
        return None


def cmd_list_runs(args: argparse.Namespace) -> int:
    from engine.runs import RunStore

    store = RunStore(args.output)
    if args.rebuild_index:
        store.rebuild_index()
    runs = store.list(status=args.status)
    if args.json:
        print(json.dumps([r.to_dict() for r in runs], indent=2))
        return EXIT_OK
    if not runs:
        print(f"no runs in {store.root}")
        return EXIT_OK
    print(f"{'RUN ID':<24} {'STATUS':<12} {'STEPS':>11} {'LOSS':>8}  {'CREATED':<20} MODEL")
    for r in runs:
        steps = f"{r.steps}/{r.total_steps or '?'}"
        print(f"{r.run_id:<24} {r.status:<12} {steps:>11} {_fmt(r.final_loss):>8}  "
              f"{r.created[:19]:<20} {_short(r.model)}")
    return EXIT_OK


def cmd_show_run(args: argparse.Namespace) -> int:
    from engine.checkpoint import list_checkpoints
    from engine.runs import JOB_FILE, RunStore, read_events, summarise_run

    run_dir = RunStore(args.output).find(args.run_id)
    summary = summarise_run(run_dir)
    job = json.loads((run_dir / JOB_FILE).read_text(encoding="utf-8"))
    events = list(read_events(run_dir))
    errors = [e for e in events if e.get("type") == "error"]
    detail = {
        **(summary.to_dict() if summary else {}),
        "settings": job.get("settings"),
        "choices": job.get("choices"),
        "checkpoints": [p.name for p in list_checkpoints(run_dir / "checkpoints")],
        "adapter": str(run_dir / "adapter") if (run_dir / "adapter").is_dir() else None,
        "loss_history": [[e["step"], e["loss"]] for e in events if e.get("type") == "step"],
        "eval_history": [[e["step"], e["eval_loss"]] for e in events if e.get("type") == "eval"],
        "errors": [{k: e.get(k) for k in ("code", "message", "hint")} for e in errors],
    }
    if args.json:
        print(json.dumps(detail, indent=2))
        return EXIT_OK
    for key in ("run_id", "status", "model", "dataset", "created", "steps", "total_steps",
                "final_loss", "run_dir", "adapter"):
        print(f"{key:<12} {detail.get(key)}")
    print(f"{'checkpoints':<12} {', '.join(detail['checkpoints']) or '-'}")
    for error in detail["errors"]:
        print(f"error [{error['code']}]: {error['message']}\n  hint: {error['hint']}")
    return EXIT_OK


def cmd_inspect_data(args: argparse.Namespace) -> int:
    from engine.data import inspect_file

    summary = inspect_file(args.file)
    if args.json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    elif summary["error"]:
        error = summary["error"]
        _err(f"[{error['code']}] {error['message']}\n  hint: {error['hint']}")
    else:
        print(f"{summary['path']}: {summary['format']}, {summary['valid_rows']} of "
              f"{summary['rows']} records usable")
        for problem in summary["problems"][:20]:
            print(f"  [{problem['code']}] {problem['where']}: {problem['message']}")
    return EXIT_BAD_INPUT if summary["error"] else EXIT_OK


def cmd_presets(args: argparse.Namespace) -> int:
    from engine.presets import PRESETS

    if args.json:
        print(json.dumps([p.to_dict() for p in PRESETS], indent=2))
        return EXIT_OK
    for p in PRESETS:
        print(f"{p.key:<14} {p.model_id:<40} LoRA ~{p.vram_gb_lora16:g} GB, QLoRA "
              f"~{p.vram_gb_qlora:g} GB  {p.note}")
    return EXIT_OK


def cmd_ui(_args: argparse.Namespace) -> int:
    try:
        from app.main import main as app_main
    except ImportError as exc:
        raise BackpropError("FEATURE_UNAVAILABLE", f"the desktop app is not installed ({exc})",
                            hint="pip install 'backpropagate[gui]'") from None
    return app_main([])


_COMMANDS = {"train": cmd_train, "resume": cmd_resume, "ask": cmd_ask, "plan": cmd_plan,
             "info": cmd_info,
             "list-runs": cmd_list_runs, "show-run": cmd_show_run,
             "inspect-data": cmd_inspect_data, "presets": cmd_presets, "ui": cmd_ui}


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _short(model: str) -> str:
    return Path(model).name if os.sep in model and Path(model).exists() else model


if __name__ == "__main__":
    sys.exit(main())
