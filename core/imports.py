"""Importing a backend's SDK on first use, with what to install when it is missing."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

from .errors import BackendUnavailable

DISTRIBUTION = "argo-artifact-driver"


@dataclass(frozen=True)
class Requirement:
    """A package a backend imports (its SDK), and how to install it when it is missing.

    Declared once, in ``Backend.requires``: the plugin imports every declared package when
    it loads the scheme (so ``argo-artifacts backends`` and ``check`` fail in an image
    without them, naming what to install), and the backend imports its modules through
    ``Backend.sdk()``, which finds the declaration."""

    #: The package (top-level module) to import, e.g. ``s3fs``.
    module: str
    #: The extra of this distribution that installs it (built-in backends: ``s3``).
    extra: str = ""
    #: Or the command that installs it (third-party backends).
    install: str = ""

    def provides(self, module: str) -> bool:
        """Whether ``module`` is this package or one of its modules."""
        return module == self.module or module.startswith(self.module + ".")

    def load(self, scheme: str, module: str = "") -> ModuleType:
        """Import ``module`` (default: the package itself), or fail naming what to install."""
        return require(module or self.module, scheme=scheme, extra=self.extra, install=self.install)


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
