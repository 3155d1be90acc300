"""Every setting the plugin reads from its environment, in one table.

Each field of :class:`Settings` is the variable ``ARGO_ARTIFACT_DRIVER_<FIELD>`` (upper
case). They are parsed and checked here, once: a bad value is a :class:`SettingError`
whose one line names the variable, what it must be and what it got, so the server can
exit at once instead of failing a request later (Argo waits two minutes for a plugin's
socket before it gives up). Defaults were chosen by measurement; the operations page of
the docs explains each, and a test keeps that table equal to this one.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any, Mapping

from .units import KiB, MiB

ENV_PREFIX = "ARGO_ARTIFACT_DRIVER_"

#: Log level names Argo's ``--loglevel`` takes (its legacy ones included), and the Python
#: level each stands for.
LOG_LEVELS = {
    "trace": "DEBUG", "debug": "DEBUG", "info": "INFO", "print": "INFO", "warn": "WARNING", "warning": "WARNING",
    "error": "ERROR", "fatal": "ERROR", "panic": "ERROR",
}
#: Log formats, as Argo's ``--log-format`` names them.
LOG_FORMATS = ("json", "text")


class SettingError(ValueError):
    """An environment setting with a value the plugin cannot use; the message is one line."""


def _setting(default: Any, help: str, *, minimum: float | None = None, choices: tuple[str, ...] = ()) -> Any:
    return field(default=default, metadata={"help": help, "minimum": minimum, "choices": choices})


@dataclass(frozen=True)
class Settings:
    """How the plugin runs. Every field can be set by ``ARGO_ARTIFACT_DRIVER_<FIELD>``."""

    # -- moving data ---------------------------------------------------------------------
    stream_chunk_size: int = _setting(
        1 * MiB, "OpenStream message payload in bytes; with its framing it must stay under the 4 MiB "
        "a Go client accepts by default", minimum=4 * KiB)
    write_block_size: int = _setting(
        8 * MiB, "buffer of one streamed write to storage, and the part size of stores that take parts "
        "(an S3 multipart part: at least 5 MiB)", minimum=64 * KiB)
    upload_concurrency: int = _setting(
        4, "parts of one object uploaded at once, on stores that take parts (S3, Azure)", minimum=1)
    transfer_memory: int = _setting(
        32 * MiB, "bytes that every call together may hold in upload parts, write buffers and downloads "
        "at once; a transfer that would go over waits", minimum=1 * MiB)
    read_ahead_chunks: int = _setting(
        2, "OpenStream chunks read from storage ahead of the one being sent (memory: this many chunks)", minimum=1)
    write_behind_chunks: int = _setting(
        4, "SaveStream chunks received but not yet written (memory: this many chunks)", minimum=1)
    read_block_size: int = _setting(
        8 * MiB, "read block for stores without a streamed GET (fsspec's buffered file), and the size of "
        "each ranged request of an Azure download", minimum=64 * KiB)
    transfer_concurrency: int = _setting(
        32, "objects moved at once for a directory artifact", minimum=1)
    storage_connect_timeout: float = _setting(
        5.0, "seconds to connect to storage before the SDK retries", minimum=0.1)
    storage_read_timeout: float = _setting(
        30.0, "seconds to wait for the next bytes of a storage response before the SDK retries", minimum=0.1)
    storage_max_attempts: int = _setting(
        4, "attempts per storage request, the first included, made by the SDK's own retry layer", minimum=1)
    transfer_attempts: int = _setting(
        3, "attempts per whole-object download whose body broke mid-way, made by core", minimum=1)

    # -- the server ----------------------------------------------------------------------
    workers: int = _setting(32, "calls served at once; each streaming call holds one while it runs", minimum=1)
    grace_seconds: float = _setting(
        25.0, "seconds calls in flight get to finish after SIGTERM (Kubernetes kills after 30 s by default)",
        minimum=0)
    abort_seconds: float = _setting(
        5.0, "after the grace period (or a second signal), seconds calls get to throw away what they wrote",
        minimum=0)
    max_receive_bytes: int = _setting(
        8 * MiB, "largest gRPC message accepted (Argo sends SaveStream chunks of 2 MiB)", minimum=4 * MiB)
    save_stream_settle_seconds: float = _setting(
        0.2, "after a SaveStream's last frame, how long to wait for a cancellation gRPC may deliver late, "
        "before publishing; only where the server cannot probe gRPC for it", minimum=0)
    stream_window_bytes: int = _setting(
        4 * MiB, "HTTP/2 flow-control window of one stream (0: gRPC's own tuning, which grows without bound)",
        minimum=0)
    malloc_arenas: int = _setting(
        2, "glibc malloc arenas (0: glibc's default of 8 per core, which holds freed buffers per thread)",
        minimum=0)
    store_cache_size: int = _setting(
        64, "configurations whose parsed store is kept between calls", minimum=1)

    # -- configurations ------------------------------------------------------------------
    default_scheme: str = _setting(
        "s3", "scheme of a configuration that has no 'scheme' key (configurations written for "
        "the S3 sample plugin carry none)")

    # -- secrets -------------------------------------------------------------------------
    secrets_dir: str = _setting(
        "/var/run/secrets/argo-artifact-driver", "where mounted secrets are looked up first: DIR/NAME/KEY")
    secrets_ttl_seconds: float = _setting(60.0, "how long a resolved secret value is reused", minimum=0)
    serviceaccount_dir: str = _setting(
        "/var/run/secrets/kubernetes.io/serviceaccount", "token, ca.crt and namespace for the Kubernetes API")
    namespace: str = _setting("", "namespace to read secrets from (empty: the service account's)")

    # -- the operator's policy and the limits of one call (docs/security.md) ---------------
    policy: str = _setting("", "path of the operator's policy file (empty: the default policy)")
    role: str = _setting(
        "pod", "server in the argo-server sidecar: no secret is resolved unless the policy lists it",
        choices=("pod", "server"))
    max_configuration_bytes: int = _setting(64 * KiB, "largest plugin configuration text, in bytes", minimum=1 * KiB)
    max_key_bytes: int = _setting(1 * KiB, "largest artifact key, in bytes (S3's own limit)", minimum=64)
    call_timeout_seconds: float = _setting(
        7200.0, "time bound of one call when the client sets no shorter deadline", minimum=1)
    endpoint_worker_share: float = _setting(
        0.5, "share of the workers one endpoint (or one local store) may hold at once; further calls to it "
        "fail at once", minimum=0.01)

    # -- logs and traces -------------------------------------------------------------------
    log_level: str = _setting(
        "info", "log level, as Argo names them; the server's --loglevel flag overrides it", choices=tuple(LOG_LEVELS))
    log_format: str = _setting(
        "json", "log lines as JSON objects or as logfmt text; the server's --log-format flag overrides it",
        choices=LOG_FORMATS)
    trace_keys: bool = _setting(
        False, "record artifact keys in trace spans; otherwise only a hash of each key (a trace collector is "
        "often shared more widely than a pod's logs)")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """Read every setting from ``environ`` (default: the process environment).

        Raises :class:`SettingError` for the first unusable value."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = env.get(env_name(f.name))
            if raw is not None:
                values[f.name] = _parse(f, raw)
        return cls(**values)

    def python_log_level(self) -> str:
        """The ``logging`` level name for :attr:`log_level`."""
        return LOG_LEVELS[self.log_level]

    def overridden(self, setting: str, raw: str, source: str) -> "Settings":
        """These settings with ``setting`` set from the text ``raw`` given by ``source`` (a
        command-line flag), checked as its variable would be; an error names ``source``."""
        f = next(f for f in dataclasses.fields(self) if f.name == setting)
        return dataclasses.replace(self, **{setting: _parse(f, raw, source)})


def env_name(field_name: str) -> str:
    """``workers`` -> ``ARGO_ARTIFACT_DRIVER_WORKERS``."""
    return ENV_PREFIX + field_name.upper()


def describe() -> list[tuple[str, str, str]]:
    """(variable, default, meaning) of every setting, in declaration order (for docs and tests)."""
    rows = []
    for f in dataclasses.fields(Settings):
        default = str(f.default).lower() if isinstance(f.default, bool) else str(f.default)  # as it is written
        rows.append((env_name(f.name), default, f.metadata["help"]))
    return rows


_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _parse(f: dataclasses.Field, raw: str, name: str = "") -> Any:
    name, text = name or env_name(f.name), raw.strip()
    minimum, choices = f.metadata["minimum"], f.metadata["choices"]
    kind = f.type if isinstance(f.type, str) else f.type.__name__
    if kind == "bool":
        if text.lower() not in _BOOLEANS:
            raise SettingError(f"{name} must be true or false, got {raw!r}")
        return _BOOLEANS[text.lower()]
    if kind == "str":
        if choices:
            text = text.lower()
            if text not in choices:
                raise SettingError(f"{name} must be one of {', '.join(choices)}; got {raw!r}")
        return text
    number: float
    try:
        number = int(text) if kind == "int" else float(text)
    except ValueError:
        what = "a whole number" if kind == "int" else "a number"
        raise SettingError(f"{name} must be {what}, got {raw!r}") from None
    if number != number or number in (float("inf"), float("-inf")):  # nan, inf
        raise SettingError(f"{name} must be a finite number, got {raw!r}")
    if minimum is not None and number < minimum:
        raise SettingError(f"{name} must be at least {minimum:g}, got {raw!r}")
    return number
