"""Tunables read from the environment, with defaults chosen by measurement (see README)."""

from __future__ import annotations

import os
from dataclasses import dataclass

MiB = 1024 * 1024
ENV_PREFIX = "ARGO_ARTIFACT_DRIVER_"


@dataclass(frozen=True)
class Settings:
    """How data moves. Every field can be set by ``ARGO_ARTIFACT_DRIVER_<FIELD>``."""

    # OpenStream message payload. Go's default receive limit (4 MiB) counts the framing,
    # so a payload must stay below it; see the README's Performance section.
    stream_chunk_size: int = 1 * MiB
    # Buffer of one streamed write to storage (a multipart part on S3: at least 5 MiB).
    write_block_size: int = 8 * MiB
    # OpenStream chunks read from storage ahead of the one being sent (memory: this many
    # chunks); reading and sending overlap (see tests/benchmarks).
    read_ahead_chunks: int = 2
    # SaveStream chunks received but not yet written (memory: this many chunks, 2 MiB
    # each from Argo); receiving and writing overlap (see tests/benchmarks).
    write_behind_chunks: int = 4
    # Read block for stores without a streamed GET (fsspec's buffered file).
    read_block_size: int = 8 * MiB
    # Objects transferred at once when a directory artifact is saved or loaded: small
    # objects behind latency need many requests in flight (sweep in tests/benchmarks).
    transfer_concurrency: int = 32
    # Storage SDK time-outs (seconds): connecting, and waiting for the next bytes of a
    # response. A stalled store fails a request after this, and the SDK retries it.
    storage_connect_timeout: int = 5
    storage_read_timeout: int = 30
    # Attempts per storage request, first one included, made by the SDK's own retry
    # layer (botocore "standard" mode on S3: jittered backoff, capped at 20 s).
    storage_max_attempts: int = 4
    # Attempts per whole-object transfer made by core, for a body that broke mid-way.
    transfer_attempts: int = 3

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        values = {}
        for name, default in cls().__dict__.items():
            raw = env.get(ENV_PREFIX + name.upper())
            if raw is None:
                continue
            try:
                value = int(raw)
            except ValueError:
                raise ValueError(f"{ENV_PREFIX}{name.upper()} must be an integer, got {raw!r}") from None
            if value <= 0:
                raise ValueError(f"{ENV_PREFIX}{name.upper()} must be positive, got {value}")
            values[name] = value
        return cls(**values)
