"""Configuration text, declared options and environment settings: every mistake is one
line naming the field, what it must be, and what was written."""

from __future__ import annotations

import pytest

from argo_artifact_driver.core.config import parse_configuration
from argo_artifact_driver.core.errors import BadConfiguration
from argo_artifact_driver.core.options import (
    CONTROLLER_FIELDS,
    Option,
    Reach,
    host_port,
    iter_reaching,
    secret_ref,
    validate_options,
)
from argo_artifact_driver.core.secrets import SecretRef
from argo_artifact_driver.core.settings import SettingError, Settings, describe, env_name

SPEC = {
    "bucket": Option(str, required=True, help="the bucket", check=lambda v: "must not be 'x'" if v == "x" else None),
    "style": Option(str, default="auto", choices=("auto", "path")),
    "size": Option(int, default=1),
    "endpoint": Option(str, reaches=Reach.HOST),
    "nested": Option(dict, fields={"url": Option(str, reaches=Reach.HOST), "key": secret_ref("a key")}),
}


def problems(given: dict) -> str:
    with pytest.raises(BadConfiguration) as info:
        validate_options("demo", SPEC, given)
    return str(info.value)


def test_defaults_are_filled_and_secret_references_typed():
    options = validate_options("demo", SPEC, {"bucket": "b", "nested": {"key": {"name": "n", "key": "k"}}})
    assert options["style"] == "auto" and options["size"] == 1 and options["endpoint"] is None
    assert options["nested"]["key"] == SecretRef("n", "k")


@pytest.mark.parametrize(
    "given, text",
    [
        ({}, "'bucket' is required (the bucket)"),
        ({"bucket": "b", "buckt": 1}, "unknown option 'buckt' (did you mean 'bucket'?)"),
        ({"bucket": "b", "style": "virtual"}, "'style' must be one of 'auto', 'path', got 'virtual'"),
        ({"bucket": "x"}, "'bucket' must not be 'x'"),
        ({"bucket": "b", "size": True}, "'size' must be an integer, got bool"),
        ({"bucket": "b", "nested": {"key": "plain"}}, "'nested.key' must be a secret reference"),
        ({"bucket": "b", "nested": {"urll": "u"}}, "unknown option 'nested.urll' (did you mean 'url'?)"),
    ],
)
def test_each_mistake_names_the_field(given, text):
    assert text in problems(given)


def test_every_problem_is_reported_at_once():
    text = problems({"buckt": "b", "style": "x"})
    assert "'bucket' is required" in text and "buckt" in text and "'style' must be one of" in text


@pytest.mark.parametrize("field", sorted(CONTROLLER_FIELDS))
def test_fields_argos_controller_owns_are_refused_for_every_scheme(field):
    assert f"'{field}' is not a plugin option" in problems({"bucket": "b", field: "x"})


def test_options_that_reach_a_host_are_found_at_any_depth():
    options = validate_options("demo", SPEC, {"bucket": "b", "endpoint": "minio:9000", "nested": {"url": "https://h:1/p"}})
    assert [(name, host_port(value)) for name, value in iter_reaching(SPEC, options, Reach.HOST)] == [
        ("endpoint", "minio:9000"), ("nested.url", "h:1")]


@pytest.mark.parametrize("value, expected", [("h", "h"), ("h:9", "h:9"), ("https://u:p@h:9/x", "h:9"), ("[::1]:9", "[::1]:9")])
def test_host_port(value, expected):
    assert host_port(value) == expected


def test_configuration_text():
    assert parse_configuration("", "s3").scheme == "s3"
    assert parse_configuration('{"scheme": "gcs", "bucket": "b"}', "s3").options == {"bucket": "b"}
    with pytest.raises(BadConfiguration, match="not valid YAML or JSON: .* at line 1, column"):
        parse_configuration("scheme: [oops", "s3")
    with pytest.raises(BadConfiguration, match="must be a mapping of options"):
        parse_configuration("- a list", "s3")


def test_settings_are_read_from_the_environment():
    settings = Settings.from_env({"ARGO_ARTIFACT_DRIVER_WORKERS": "8", "ARGO_ARTIFACT_DRIVER_LOG_LEVEL": "WARN",
                                  "ARGO_ARTIFACT_DRIVER_GRACE_SECONDS": "2.5", "UNRELATED": "x"})
    assert (settings.workers, settings.log_level, settings.grace_seconds) == (8, "warn", 2.5)
    assert settings.python_log_level() == "WARNING"


@pytest.mark.parametrize(
    "name, value, text",
    [
        ("WORKERS", "abc", "ARGO_ARTIFACT_DRIVER_WORKERS must be a whole number, got 'abc'"),
        ("WORKERS", "0", "ARGO_ARTIFACT_DRIVER_WORKERS must be at least 1, got '0'"),
        ("GRACE_SECONDS", "nan", "ARGO_ARTIFACT_DRIVER_GRACE_SECONDS must be a finite number"),
        ("LOG_LEVEL", "bogus", "ARGO_ARTIFACT_DRIVER_LOG_LEVEL must be one of trace, debug, info"),
        ("LOG_FORMAT", "xml", "ARGO_ARTIFACT_DRIVER_LOG_FORMAT must be one of json, text; got 'xml'"),
    ],
)
def test_a_bad_setting_is_one_line_naming_the_variable(name, value, text):
    with pytest.raises(SettingError) as info:
        Settings.from_env({f"ARGO_ARTIFACT_DRIVER_{name}": value})
    assert text in str(info.value) and "\n" not in str(info.value)


def test_a_flag_overrides_a_setting_and_is_named_when_bad():
    settings = Settings.from_env({"ARGO_ARTIFACT_DRIVER_LOG_LEVEL": "info"})
    assert settings.overridden("log_level", "PRINT", "--loglevel").python_log_level() == "INFO"  # Argo's legacy name
    assert settings.overridden("log_format", "text", "--log-format").log_format == "text"
    with pytest.raises(SettingError, match="^--loglevel must be one of .*; got 'verbose'$"):
        settings.overridden("log_level", "verbose", "--loglevel")


def test_every_setting_says_what_it_is():
    assert all(help_text for _, _, help_text in describe())
    assert env_name("stream_chunk_size") == "ARGO_ARTIFACT_DRIVER_STREAM_CHUNK_SIZE"
