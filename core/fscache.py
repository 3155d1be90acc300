"""The filesystem each configured backend shares between calls.

Building an fsspec filesystem costs (an SDK session, credentials, a connection pool), so
one is kept per configured backend and shared by its calls. It is rebuilt when a secret
it was built from changes value (the secret resolver re-reads values after its TTL), so a
rotated credential is picked up without a restart and an old one does not linger. A
backend whose filesystem cannot serve two threads at once (``filesystem_per_thread``:
ftplib's single connection) gets one per thread.
"""

from __future__ import annotations

import hashlib
import threading
from typing import TYPE_CHECKING

from .observe import NO_OBSERVER, Observer

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

    from .backend import Backend


class FilesystemCache:
    """``get()`` returns the filesystem of ``backend``, built on first use."""

    def __init__(self, backend: "Backend", observer: Observer = NO_OBSERVER) -> None:
        self.backend = backend
        self.observer = observer
        self._shared: tuple[str, AbstractFileSystem] | None = None
        self._lock = threading.Lock()
        self._per_thread = threading.local()

    def get(self) -> "AbstractFileSystem":
        fingerprint = self._secrets_fingerprint()
        if self.backend.filesystem_per_thread:
            held = getattr(self._per_thread, "held", None)
            if held is None or held[0] != fingerprint:
                held = self._per_thread.held = (fingerprint, self._create())
            return held[1]
        held = self._shared
        if held is None or held[0] != fingerprint:
            with self._lock:
                held = self._shared
                if held is None or held[0] != fingerprint:
                    held = self._shared = (fingerprint, self._create())
        return held[1]

    def _create(self) -> "AbstractFileSystem":
        # endpoints(): the servers the new filesystem will send requests to (defaults included)
        with self.observer.operation("connect", endpoints=" ".join(self.backend.endpoints())):
            return self.backend.create_filesystem()

    def _secrets_fingerprint(self) -> str:
        """A digest of every resolved secret value: it changes when a secret rotates."""
        options = self.backend.secret_options()
        if not options:
            return ""
        digest = hashlib.sha256()
        for name, _ in sorted(options):
            resolved = self.backend.secret(name)
            digest.update(name.encode() + b"\0" + (resolved.value if resolved else b"") + b"\0")
        return digest.hexdigest()
