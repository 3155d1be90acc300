"""The local side of Load and Save: where a Load writes, what a Save reads.

A Load fills a temporary name beside its target and renames it into place only when every
byte arrived, so a failed Load leaves nothing at the path. A Save of a directory uploads
its regular files, and a symbolic link only when it resolves to a file inside the tree: a
link must never make a file from elsewhere on the machine leave it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from typing import TYPE_CHECKING, Iterator

from .errors import BadRequest, NotFound, PermissionDenied, from_os_error
from .keys import partial_name, posix_relpath

if TYPE_CHECKING:
    from .deadline import Deadline

log = logging.getLogger("argo_artifact_driver")


def load_target(path: str) -> str:
    """The absolute path a Load writes to, its parent created; refuses what cannot be written."""
    if not path:
        raise BadRequest("the local path to load into is empty")
    dest = os.path.abspath(path)
    parent = os.path.dirname(dest)
    try:
        os.makedirs(parent, exist_ok=True)
    except OSError as exc:
        raise from_os_error(exc, f"local directory '{parent}'") from exc
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PermissionDenied(f"cannot write into local directory '{parent}'")
    return dest


def save_source(path: str) -> str:
    """The absolute path a Save reads: a readable regular file or directory."""
    if not path:
        raise BadRequest("the local path to save is empty")
    src = os.path.abspath(path)
    if not os.path.lexists(src):
        raise NotFound(f"nothing to save: local path '{path}' does not exist")
    if not (os.path.isfile(src) or os.path.isdir(src)):
        raise BadRequest(f"cannot save local path '{path}': it is not a regular file or directory")
    if not os.access(src, os.R_OK) or (os.path.isdir(src) and not os.access(src, os.X_OK)):
        raise PermissionDenied(f"cannot read local path '{path}'")
    return src


def tree_files(top: str) -> Iterator[tuple[str, str]]:
    """(absolute path, relative key) of every file to upload from a directory tree, sorted.

    Symbolic links are uploaded only when they resolve to a regular file inside the tree."""
    real_top = os.path.realpath(top)
    for dirpath, dirnames, filenames in os.walk(top, followlinks=False, onerror=_raise):
        dirnames.sort()
        for name in sorted(filenames) + sorted(d for d in dirnames if os.path.islink(os.path.join(dirpath, d))):
            full = os.path.join(dirpath, name)
            if os.path.islink(full):
                real = os.path.realpath(full)
                if not (os.path.isfile(real) and os.path.commonpath([real_top, real]) == real_top):
                    log.warning("not saving symbolic link %s: it does not resolve to a file inside %s", full, top)
                    continue
            elif not os.path.isfile(full):
                continue  # sockets, fifos, devices
            if not os.access(full, os.R_OK):
                raise PermissionDenied(f"cannot read local file '{full}' of the directory being saved")
            yield full, posix_relpath(full, top)


@contextlib.contextmanager
def staged(dest: str, deadline: "Deadline", what: str, directory: bool = False) -> Iterator[str]:
    """A temporary name beside ``dest`` to fill; moved over ``dest`` only if the block
    succeeds and the call is still wanted, removed otherwise: a failed Load leaves nothing."""
    parent, name = os.path.split(dest)
    tmp = os.path.join(parent, partial_name(name))
    if directory:
        os.mkdir(tmp)
    try:
        yield tmp
        deadline.check(what)  # nobody waits for it any more: publish nothing
        if os.path.isdir(dest) and not os.path.islink(dest):
            shutil.rmtree(dest)
        os.replace(tmp, dest)
    except BaseException:
        _remove(tmp)
        raise


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


def _raise(exc: OSError) -> None:
    raise exc
