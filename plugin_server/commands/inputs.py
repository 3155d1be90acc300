"""What the subcommands share: reading a configuration given as text, ``@FILE`` or ``@-``."""

from __future__ import annotations

import sys


def read_text(value: str) -> str:
    """``value`` itself, or the content of the file it names with ``@FILE`` (``@-``: stdin)."""
    if value == "@-":
        return sys.stdin.read()
    if value.startswith("@"):
        with open(value[1:], encoding="utf-8") as f:
            return f.read()
    return value
