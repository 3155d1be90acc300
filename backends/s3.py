"""``scheme: s3``: Amazon S3 and S3-compatible stores (MinIO, Ceph, ...) through s3fs.

Option names follow Argo's S3 artifact repository so an existing block can be pasted.
Credentials come from the AWS SDK's own chain (environment, shared profile, IAM role,
web identity), as Argo's ``useSDKCreds`` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core.backend import Backend
from ..core.errors import BadConfiguration
from ..core.imports import require
from ..core.options import Option

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

ADDRESSING_STYLES = ("auto", "path", "virtual")


class S3Backend(Backend):
    """Keys live in ``bucket``; ``endpoint`` (``host:port``) selects a non-AWS server."""

    option_spec = {
        "bucket": Option(str, required=True, help="the bucket holding artifacts"),
        "endpoint": Option(str, help="host:port of the S3 API; default AWS"),
        "insecure": Option(bool, default=False, help="plain HTTP to the endpoint"),
        "region": Option(str, help="the bucket's region"),
        "addressingStyle": Option(str, default="auto", help="auto, path or virtual"),
    }

    def validate(self) -> None:
        style = self.options["addressingStyle"]
        if style not in ADDRESSING_STYLES:
            raise BadConfiguration(
                f"'addressingStyle' for scheme 's3' must be one of {', '.join(ADDRESSING_STYLES)}, got {style!r}"
            )
        if "/" in self.options["bucket"].strip("/"):
            raise BadConfiguration("'bucket' must be a bucket name, without '/'")

    def endpoint_url(self) -> str | None:
        endpoint = self.options["endpoint"]
        if not endpoint:
            return None
        if "://" in endpoint:  # tolerate a URL where Argo expects host:port
            return endpoint
        return f"{'http' if self.options['insecure'] else 'https'}://{endpoint}"

    def create_filesystem(self) -> "AbstractFileSystem":
        s3fs = require("s3fs", scheme=self.scheme, extra="s3")
        client_kwargs: dict[str, Any] = {}
        if self.options["region"]:
            client_kwargs["region_name"] = self.options["region"]
        if self.endpoint_url():
            client_kwargs["endpoint_url"] = self.endpoint_url()
        settings = self.settings
        fs = s3fs.S3FileSystem(
            client_kwargs=client_kwargs,
            config_kwargs={
                "s3": {"addressing_style": self.options["addressingStyle"]},
                # The one request-level retry layer: botocore's "standard" mode retries
                # 5xx, throttling, connection errors and read time-outs with jittered
                # exponential backoff (capped at 20 s) and a retry quota that stops
                # retry storms against a failing endpoint. 4xx errors are not retried.
                "retries": {"mode": "standard", "total_max_attempts": settings.storage_max_attempts},
                "connect_timeout": settings.storage_connect_timeout,
                "read_timeout": settings.storage_read_timeout,
            },
            default_block_size=settings.write_block_size,
        )
        # s3fs wraps every call in a retry loop of its own (class attribute, 5 attempts,
        # no jitter) on top of botocore's: 1 turns that loop off so attempts do not
        # multiply. A body that breaks mid-download is retried by core (transient_errors).
        fs.retries = 1
        return fs

    def transient_errors(self) -> tuple[type[BaseException], ...]:
        import aiohttp
        from botocore import exceptions as bx

        # Only errors of a body being read: a request that failed (reset, 5xx, time-out
        # before the response) was already retried by botocore, and retrying it again
        # here would multiply the attempts.
        return (aiohttp.ClientPayloadError, bx.IncompleteReadError, bx.ResponseStreamingError)

    def builtin_error(self, exc: BaseException) -> BaseException:
        from botocore import exceptions as bx

        if isinstance(exc, (bx.ConnectTimeoutError, bx.ReadTimeoutError)):
            return TimeoutError(str(exc))
        if isinstance(exc, (bx.ConnectionError, bx.HTTPClientError)):
            return ConnectionError(str(exc))
        return exc

    def root(self) -> str:
        return self.options["bucket"].strip("/")

    def describe(self) -> str:
        where = f" at {self.options['endpoint']}" if self.options["endpoint"] else ""
        return f"s3://{self.root()}{where}"
