"""``scheme: gcs``: Google Cloud Storage through gcsfs.

Option names follow Argo's GCS artifact repository (``bucket``). Credentials are Google's
Application Default Credentials: ``GOOGLE_APPLICATION_CREDENTIALS``, workload identity or
the metadata server, the same chain Argo uses when no ``serviceAccountKeySecret`` is set.
An ``endpoint`` selects an emulator (plain ``http://``: anonymous access, as emulators
expect and because no token should cross an unencrypted link) or a private endpoint
(``https://``: Application Default Credentials as usual).
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

from ..core.backend import Backend, _discard
from ..core.errors import BadConfiguration
from ..core.imports import require
from ..core.options import Option

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

#: gcsfs >= 2026 probes every bucket's type over gRPC on first use; emulators do not
#: answer and each call then hangs for a minute. Off for emulators.
HNS_SUPPORT_ENV = "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"


class GCSBackend(Backend):
    """Keys live in ``bucket``; ``endpoint`` selects an emulator or a private endpoint."""

    option_spec = {
        "bucket": Option(str, required=True, help="the bucket holding artifacts"),
        "endpoint": Option(
            str, help="URL of the GCS JSON API, e.g. http://127.0.0.1:9023 for an emulator; default Google's"
        ),
        "project": Option(str, help="the Google Cloud project (only needed to create or list buckets)"),
    }

    def validate(self) -> None:
        if "/" in self.options["bucket"].strip("/"):
            raise BadConfiguration("'bucket' for scheme 'gcs' must be a bucket name, without '/'")
        endpoint = self.options["endpoint"]
        if endpoint and not endpoint.startswith(("http://", "https://")):
            raise BadConfiguration(
                f"'endpoint' for scheme 'gcs' must be a URL starting with http:// or https://, got {endpoint!r}"
            )

    @property
    def is_emulator(self) -> bool:
        return bool(self.options["endpoint"]) and self.options["endpoint"].startswith("http://")

    def create_filesystem(self) -> "AbstractFileSystem":
        if self.is_emulator:
            os.environ.setdefault(HNS_SUPPORT_ENV, "false")
        require("gcsfs", scheme=self.scheme, extra="gcs")
        # The core class, not the package's default: the experimental subclass probes
        # bucket types over gRPC, which emulators cannot answer (even if gcsfs was
        # imported before the variable above was set).
        from gcsfs.core import GCSFileSystem

        kwargs: dict[str, Any] = {
            "token": "anon" if self.is_emulator else "google_default",
            "block_size": self.settings.write_block_size,
            # A long-running server must not answer from a stale listing.
            "use_listings_cache": False,
            "skip_instance_cache": True,
        }
        if self.options["endpoint"]:
            kwargs["endpoint_url"] = self.options["endpoint"].rstrip("/")
        if self.options["project"]:
            kwargs["project"] = self.options["project"]
        return GCSFileSystem(**kwargs)

    def root(self) -> str:
        return self.options["bucket"].strip("/")

    def describe(self) -> str:
        where = f" at {self.options['endpoint']}" if self.options["endpoint"] else ""
        return f"gs://{self.root()}{where}"

    def abandon_writer(self, f: Any) -> None:
        # Cancelling a resumable upload is one DELETE on GCS, but gcsfs retries a failed
        # one for about half a minute (emulators answer 501): do it off the request
        # thread. Nothing is published either way; an unfinished upload expires.
        f.closed = True  # never let the finaliser close (and so publish) it
        threading.Thread(target=_discard, args=(f,), name="gcs-discard", daemon=True).start()
