"""Importing a backend's SDK on first use, with the extra to install when it is missing."""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import BackendUnavailable

DISTRIBUTION = "argo-artifact-driver"


def require(module: str, *, scheme: str, extra: str) -> ModuleType:
    """Import ``module`` or fail with the ``pip install`` line that provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise BackendUnavailable(
            f"scheme '{scheme}' needs the Python package '{module.split('.')[0]}', which is not installed "
            f"({exc}); install it with: pip install '{DISTRIBUTION}[{extra}]'"
        ) from None
