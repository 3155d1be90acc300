"""Importing a backend's SDK on first use, with what to install when it is missing."""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import BackendUnavailable

DISTRIBUTION = "argo-artifact-driver"


def require(module: str, *, scheme: str, extra: str = "", install: str = "") -> ModuleType:
    """Import ``module`` or fail with the command that installs it.

    Built-in backends name one of this package's extras (``extra="s3"``: ``pip install
    'argo-artifact-driver[s3]'``); a third-party backend gives its own ``install`` line."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        how = install or f"pip install '{DISTRIBUTION}[{extra}]'"
        raise BackendUnavailable(
            f"scheme '{scheme}' needs the Python package '{module.split('.')[0]}', which is not installed "
            f"({exc}); install it with: {how}"
        ) from None
