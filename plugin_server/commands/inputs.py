"""What the subcommands share: reading a configuration given as text, ``@FILE`` or ``@-``."""

from __future__ import annotations

import sys

from . import ToolError


def read_text(value: str, option: str = "configuration") -> str:
    """``value`` itself, or the content of the file it names with ``@FILE`` (``@-``: stdin).
    A file that cannot be read is a :class:`ToolError` naming ``option`` and the file."""
    if value == "@-":
        return sys.stdin.read()
    if not value.startswith("@"):
        return value
    path = value[1:]
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        raise ToolError(f"{option}: no file {path!r} (@FILE reads a file; give the text itself without '@')") from None
    except IsADirectoryError:
        raise ToolError(f"{option}: {path!r} is a directory, not a file") from None
    except UnicodeDecodeError:
        raise ToolError(f"{option}: {path!r} is not UTF-8 text") from None
    except OSError as exc:
        raise ToolError(f"{option}: cannot read {path!r}: {exc.strerror or exc}") from None
