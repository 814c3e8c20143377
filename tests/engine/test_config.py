"""Settings: defaults, .env, BACKPROPAGATE_* variables, explicit arguments, validation."""

from __future__ import annotations

import pytest

from engine.config import Settings, describe, resolve_settings
from engine.errors import BackpropError


def test_precedence_env_file_then_environment_then_arguments(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("BACKPROPAGATE_LORA__R=8\nBACKPROPAGATE_LEARNING_RATE=0.001\n"
                        "# a comment\nexport BACKPROPAGATE_STEPS=7\n")
    environ = {"BACKPROPAGATE_LORA__R": "32", "BACKPROPAGATE_REPORT_TO": "tensorboard,mlflow",
               "BACKPROPAGATE_DATA__SHUFFLE": "false", "UNRELATED": "x"}
    s = resolve_settings({"learning_rate": 5e-4, "lora": {"alpha": 64}}, environ=environ,
                         env_file=env_file)
    assert s.lora.r == 32  # environment beats .env
    assert s.steps == 7  # .env applies where nothing else says
    assert s.learning_rate == 5e-4  # argument beats .env
    assert s.lora.alpha == 64
    assert s.report_to == ["tensorboard", "mlflow"]
    assert s.data.shuffle is False


def test_double_underscore_keys_and_auto_values():
    s = resolve_settings({"lora__dropout": 0.1, "batch_size": "auto", "load_in_4bit": "true"},
                         environ={}, env_file=None)
    assert s.lora.dropout == 0.1 and s.batch_size == "auto" and s.load_in_4bit is True
    assert resolve_settings({"batch_size": "8"}, environ={}, env_file=None).batch_size == 8


@pytest.mark.parametrize("overrides, field", [
    ({"lora__r": "many"}, "lora.r"),
    ({"learning_rate": 3}, "learning_rate"),
    ({"precision": "fp8"}, "precision"),
    ({"report_to": ["neptune"]}, "report_to"),
    ({"steps": 0}, "steps"),
])
def test_invalid_values_name_the_setting(overrides, field):
    with pytest.raises(BackpropError) as info:
        resolve_settings(overrides, environ={}, env_file=None)
    assert info.value.code == "CONFIG_INVALID"
    assert info.value.where == field


def test_unknown_setting_from_environment():
    with pytest.raises(BackpropError) as info:
        resolve_settings(environ={"BACKPROPAGATE_LORA__RANK": "4"}, env_file=None)
    assert info.value.code == "CONFIG_UNKNOWN_SETTING" and "lora.rank" in info.value.message


def test_every_setting_has_help_text_and_round_trips():
    rows = describe()
    assert len(rows) > 20 and all(help_text for _, help_text, _ in rows)
    s = resolve_settings({"lora__r": 4, "steps": 3}, environ={}, env_file=None)
    assert Settings.from_dict(s.to_dict()) == s
