"""Artifact keys and local paths: normalisation and the checks that keep data in place."""

from __future__ import annotations

import os
import posixpath
import uuid

from .errors import BadRequest


def normalize_key(key: str, *, allow_empty: bool = False) -> str:
    """Canonical form of an artifact key: no leading/trailing or doubled slashes.

    A key is a path inside the store's root. ``.`` and ``..`` segments are refused on
    every backend: on a file system they would escape the root, and accepting them on
    object stores only would make the same configuration behave differently per store.
    """
    if "\x00" in key:
        raise BadRequest("the artifact key contains a NUL character")
    parts = [p for p in key.split("/") if p]
    if any(p in (".", "..") for p in parts):
        raise BadRequest(f"the artifact key {key!r} contains a '.' or '..' segment")
    if not parts and not allow_empty:
        raise BadRequest("the artifact key is empty: set plugin.key (or the repository's keyFormat)")
    return "/".join(parts)


def join_key(root: str, key: str) -> str:
    """The store path of ``key`` under ``root`` (both already normalised)."""
    if not key:
        return root
    return f"{root.rstrip('/')}/{key}" if root else key


def relative_member(prefix: str, path: str) -> str | None:
    """The part of ``path`` below ``prefix/``, or None when ``path`` is not below it."""
    head = prefix.rstrip("/") + "/"
    if not path.startswith(head):
        return None
    rest = path[len(head):]
    return rest or None


def safe_local_join(base: str, relative: str) -> str:
    """Join a relative object path under a local directory, refusing anything that escapes it.

    Object keys are untrusted input when they become file names: a key such as
    ``a/../../etc/x`` or ``/etc/x`` must never write outside the directory being loaded.
    """
    parts = relative.split("/")
    if relative.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise BadRequest(f"refusing to write object {relative!r}: its name would leave the target directory")
    target = os.path.join(base, *parts)
    if os.path.commonpath([os.path.abspath(base), os.path.abspath(target)]) != os.path.abspath(base):
        raise BadRequest(f"refusing to write object {relative!r}: its name would leave the target directory")
    return target


def posix_relpath(path: str, start: str) -> str:
    """``os.path.relpath`` with forward slashes, for turning local files into keys."""
    return posixpath.join(*os.path.relpath(path, start).split(os.sep))


#: What marks a write in progress: ``.NAME.partial-XXXXXXXXXXXX`` beside its final name.
PARTIAL_MARKER = ".partial-"


def partial_name(name: str) -> str:
    """A fresh temporary name for ``name`` while it is written (hidden, unique)."""
    return f".{name}{PARTIAL_MARKER}{uuid.uuid4().hex[:12]}"


def is_partial_name(path: str) -> bool:
    """Whether ``path`` names a write in progress (see :func:`partial_name`)."""
    name = path.rstrip("/").rpartition("/")[2]
    return name.startswith(".") and PARTIAL_MARKER in name
