"""Regenerates docs/errors.md from the error catalogue in engine/errors.py."""

from pathlib import Path

from engine.errors import catalogue_markdown

HEAD = """# Error codes

Every failure a user can cause or meet carries one of these codes: in the CLI's output, in the
worker's `error` events (with `message`, `hint` and `where`: file and line, or the setting's
name), and in the app's error banner. Codes are stable: they are never renamed or reused.
`warning` events use the same codes for problems that do not stop a run (`DATA_TRUNCATED`,
`OUT_OF_MEMORY` when a batch was split and training went on, `FEATURE_UNAVAILABLE` for a
tracker that is not installed).

Secrets (Hugging Face tokens, `sk-…` keys, `password=`/`token=` values) are replaced by `***` in
logs and error output unless `--verbose` is given.

This file is generated: edit the catalogue, then run `python scripts/write_error_docs.py`.

"""


def render() -> str:
    return HEAD + catalogue_markdown()


if __name__ == "__main__":
    target = Path(__file__).resolve().parent.parent / "docs" / "errors.md"
    target.write_text(render(), encoding="utf-8")
    print(f"wrote {target}")
