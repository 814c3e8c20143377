"""Engine logging: one line per message, with the run id, secrets masked — library logs too."""

from __future__ import annotations

import io
import logging

from engine.logs import adopt_library_loggers, set_run, setup_logging


def test_library_logs_appear_once_with_the_run_id_and_redacted():
    import huggingface_hub  # noqa: F401 - imported for the handler it installs
    import transformers  # noqa: F401

    stream = io.StringIO()
    setup_logging(stream=stream)
    adopt_library_loggers()
    set_run("run-1234")
    try:
        logging.getLogger("transformers.modeling_utils").warning(
            "loading with token hf_ABCDEFGHIJKLMNOP")
        logging.getLogger("huggingface_hub.utils._http").warning("Retrying in 1s")
    finally:
        set_run("-")
        setup_logging()  # back to stderr for the tests that follow
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2, lines
    assert all("[run-1234]" in line for line in lines)
    assert "ABCDEFGHIJ" not in lines[0] and "hf_***" in lines[0]
    assert not logging.getLogger("transformers").handlers


def test_event_messages_are_redacted_unless_verbose():
    from engine.training import Emitter

    seen = []
    emit = Emitter([seen.append])
    emit("error", code="MODEL_NOT_FOUND", message="401 for token hf_ABCDEFGHIJKLMNOP",
         hint="password=hunter2 is wrong")
    assert "ABCDEFGHIJ" not in seen[-1]["message"] and "hunter2" not in seen[-1]["hint"]

    setup_logging(verbose=True)
    try:
        emit("warning", code="DATA_TRUNCATED", message="hf_ABCDEFGHIJKLMNOP")
        assert seen[-1]["message"] == "hf_ABCDEFGHIJKLMNOP"
    finally:
        setup_logging()
