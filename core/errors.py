"""The errors every layer speaks.

Backends and fsspec raise Python's own exceptions (``FileNotFoundError``,
``PermissionError``, ``ConnectionError``, ...); :func:`translate` turns those into this
small hierarchy once, in core, so the gRPC edge maps one family of types to responses
and never needs to know a storage SDK. Any other exception is a bug and is left alone:
the gRPC edge logs it with its traceback and answers with a short internal error. Every message names the thing (scheme, key,
option) and what a person can do about it, and never carries a secret.
"""

from __future__ import annotations

import errno


class ArtifactError(Exception):
    """Base of every error this plugin reports to Argo. ``kind`` is a stable label for logs."""

    kind = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class BadRequest(ArtifactError):
    """The request itself is unusable (empty key, key escaping its root, missing path...)."""

    kind = "bad_request"


class BadConfiguration(ArtifactError):
    """``plugin.configuration`` is malformed or names options a backend rejects."""

    kind = "bad_configuration"


class UnknownScheme(BadConfiguration):
    """No installed backend serves the configured ``scheme``."""

    kind = "unknown_scheme"


class RefusedByPolicy(BadConfiguration):
    """The operator's policy does not allow what the configuration asks for. The message
    names the rule: ``refused by policy: endpoint 169.254.169.254 is link-local (rule
    'endpoints')``."""

    kind = "refused_by_policy"

    def __init__(self, what: str, rule: str | None = None) -> None:
        # With one argument, a message already worded (re-raised with a prefix by a caller).
        super().__init__(what if rule is None else f"refused by policy: {what} (rule '{rule}')")


class SecretUnavailable(BadConfiguration):
    """A referenced secret or key cannot be read (missing, unreachable API, bad data)."""

    kind = "secret_unavailable"


class BackendUnavailable(ArtifactError):
    """The backend for a scheme is installed but cannot load (missing extra, broken package)."""

    kind = "backend_unavailable"


class NotFound(ArtifactError):
    """The key (or local path) does not exist."""

    kind = "not_found"


class PermissionDenied(ArtifactError):
    """The store or the local file system refused access."""

    kind = "permission_denied"


class StorageUnavailable(ArtifactError):
    """The store could not be reached or failed; retrying later may succeed."""

    kind = "storage_unavailable"


class DeadlineExceeded(StorageUnavailable):
    """The client's deadline passed before the call could finish; nothing was published."""

    kind = "deadline_exceeded"


class Cancelled(ArtifactError):
    """The client went away or the server is shutting down; nothing was published."""

    kind = "cancelled"


class Conflict(ArtifactError):
    """What is stored cannot be represented as asked (e.g. a file and a directory of one name)."""

    kind = "conflict"


def translate(exc: BaseException, what: str) -> ArtifactError | None:
    """Map a storage error from fsspec, a backend or the OS to an :class:`ArtifactError`.

    ``what`` names the object of the failed operation ("key 'a/b' in s3://bucket") so the
    message says which thing failed, not only how. Storage errors are ``OSError`` and its
    family (``FileNotFoundError``, ``PermissionError``, ``ConnectionError``,
    ``TimeoutError``...), which fsspec and the SDK error tables of each backend speak.
    Anything else is not a storage error but a bug: None, so that the caller lets it reach
    the internal-error path, which logs its traceback.
    """
    if isinstance(exc, ArtifactError):
        return exc
    if isinstance(exc, OSError):
        return from_os_error(exc, what)
    return None


def from_os_error(exc: OSError, what: str) -> ArtifactError:
    """The :class:`ArtifactError` for an ``OSError`` while working on ``what``."""
    detail = _detail(exc)
    if isinstance(exc, FileNotFoundError):
        return NotFound(f"{what} was not found ({detail})")
    if isinstance(exc, PermissionError):
        return PermissionDenied(f"permission denied for {what}: {detail}")
    if isinstance(exc, (IsADirectoryError, NotADirectoryError, FileExistsError)):
        return Conflict(f"{what}: {detail}")
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return StorageUnavailable(f"storage unreachable for {what}: {detail}")
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StorageUnavailable(f"no space left writing {what}")
    return StorageUnavailable(f"storage error for {what}: {detail}")


#: Failures a later attempt cannot cure: the thing is missing, refused, or malformed.
PERMANENT = (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError, FileExistsError, ValueError)


def is_transient(exc: BaseException, sdk_transient: tuple[type[BaseException], ...] = ()) -> bool:
    """Whether a fresh attempt at a whole-object transfer may succeed where this one failed.

    Permanent: not found, forbidden, bad request or configuration, a cancelled call or a
    passed deadline. Transient: connection resets and time-outs, and ``sdk_transient``, the
    backend's SDK errors for a response body that broke after the request succeeded
    (which the SDK's own request retries do not cover). Everything else is permanent:
    retrying what we do not understand would only multiply load on a failing store.
    """
    if isinstance(exc, ArtifactError):
        return False
    if isinstance(exc, PERMANENT):
        return False
    if sdk_transient and isinstance(exc, sdk_transient):
        return True
    return isinstance(exc, (ConnectionError, TimeoutError))


def _detail(exc: BaseException) -> str:
    text = str(exc).strip()
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
    return text or type(exc).__name__
