"""Finding backends: entry points in the group ``argo_artifact_driver.backends``.

The entry-point name is the scheme. Discovery reads installed distributions' metadata
(``importlib.metadata``) and imports nothing: it names the distribution behind each
scheme and finds two packages claiming one. Loading imports only the one entry point of
a scheme, and the packages its backend declares in ``requires``, when that scheme is first
used (``EntryPoint.load()``: the standard library does all of it, so no plugin manager
sits between the metadata and the import). Every problem
is reported for its own scheme only, naming the distribution that declared it and the
reason, while every other scheme keeps working:

* no distribution declares the scheme: :class:`~.errors.UnknownScheme`;
* two or more distributions declare it: :class:`~.errors.BackendUnavailable` naming
  them all (never resolved by install order, and neither is imported);
* the import fails, or what it gives is neither a :class:`~.backend.Backend` that keeps
  the contract (:func:`~.backend.api_problems`) nor a :class:`~.composite.Composite`:
  :class:`~.errors.BackendUnavailable` with the cause;
* a package the backend declares in ``requires`` (its SDK) does not import:
  :class:`~.errors.BackendUnavailable` naming the extra (or command) that installs it.

A distribution is found under one name once (``importlib.metadata`` keeps the first on
``sys.path``), so the same package seen twice on the path is not a conflict.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Union

from .backend import Backend, api_problems
from .composite import Composite, composite_problems
from .errors import ArtifactError, BackendUnavailable, UnknownScheme

ENTRY_POINT_GROUP = "argo_artifact_driver.backends"

#: What an entry point of the group loads: a storage backend or a composite scheme.
SchemeClass = Union[type[Backend], type[Composite]]


@dataclass(frozen=True)
class BackendEntry:
    """One entry point declaring a scheme, and the distribution that declares it."""

    scheme: str
    target: str  # "module:Class", as declared
    distribution: str
    version: str
    entry_point: Any = field(compare=False, repr=False)

    def origin(self) -> str:
        """``package 'name' 1.0 (module:Class)``: where this backend comes from."""
        return f"package '{self.distribution}' {self.version} ({self.target})"


@dataclass(frozen=True)
class BackendStatus:
    """Whether a scheme's backend loads, for ``argo-artifacts backends``."""

    scheme: str
    entries: tuple[BackendEntry, ...]
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


class BackendRegistry:
    """Backend classes by scheme, loaded on demand. Pass one around; there is no global instance."""

    def __init__(self, namespace: str = ENTRY_POINT_GROUP) -> None:
        self.namespace = namespace
        self._entries: dict[str, tuple[BackendEntry, ...]] | None = None
        self._classes: dict[str, SchemeClass] = {}
        self._failures: dict[str, ArtifactError] = {}
        self._lock = threading.Lock()

    # -- discovery (imports nothing) -------------------------------------------------

    def schemes(self) -> list[str]:
        """Every scheme declared by an installed distribution, sorted."""
        return sorted(self._discovered())

    def entries(self, scheme: str) -> tuple[BackendEntry, ...]:
        """The entry points declaring ``scheme`` (more than one is a conflict)."""
        return self._discovered().get(scheme, ())

    def _discovered(self) -> dict[str, tuple[BackendEntry, ...]]:
        if self._entries is None:
            found: dict[str, list[BackendEntry]] = {}
            for ep in metadata.entry_points(group=self.namespace):
                found.setdefault(ep.name, []).append(_entry(ep))
            self._entries = {scheme: tuple(sorted(e, key=lambda x: x.distribution)) for scheme, e in found.items()}
        return self._entries

    # -- loading ---------------------------------------------------------------------

    def backend_class(self, scheme: str) -> SchemeClass:
        """The backend class for ``scheme``, importing its module on first use.

        Raises :class:`UnknownScheme` or :class:`BackendUnavailable`; a failure is
        remembered, so a broken backend is not re-imported on every request."""
        with self._lock:
            cls = self._classes.get(scheme)
            if cls is not None:
                return cls
            failure = self._failures.get(scheme)
            if failure is None:
                try:
                    cls = self._classes[scheme] = self._load(scheme)
                    return cls
                except ArtifactError as exc:
                    failure = self._failures[scheme] = exc
        raise type(failure)(failure.message)

    def status(self, scheme: str) -> BackendStatus:
        """Try to load ``scheme`` (imports its module) and say whether it works."""
        try:
            self.backend_class(scheme)
        except ArtifactError as exc:
            return BackendStatus(scheme, self.entries(scheme), exc.message)
        return BackendStatus(scheme, self.entries(scheme))

    def _load(self, scheme: str) -> SchemeClass:
        entries = self.entries(scheme)
        if not entries:
            installed = ", ".join(self.schemes()) or "none"
            raise UnknownScheme(
                f"unknown scheme '{scheme}': no installed package provides a backend for it "
                f"(installed schemes: {installed}); check 'scheme' in the plugin configuration, or install "
                f"the package that provides the '{scheme}' backend (an entry point '{scheme}' in the group "
                f"{self.namespace}); 'argo-artifacts backends' lists what is installed"
            )
        if len(entries) > 1:
            claims = "; ".join(entry.origin() for entry in entries)
            raise BackendUnavailable(
                f"scheme '{scheme}' is unavailable: {len(entries)} installed packages claim it ({claims}); "
                "uninstall all but one of them"
            )
        entry = entries[0]
        try:
            loaded = entry.entry_point.load()
        except Exception as exc:  # any failure while importing a third party's module
            raise BackendUnavailable(
                f"scheme '{scheme}' is unavailable: the backend from {entry.origin()} failed to import: "
                f"{type(exc).__name__}: {exc}; reinstall or upgrade that package"
            ) from None
        if isinstance(loaded, type) and issubclass(loaded, Composite):
            problems = composite_problems(loaded)
        else:
            problems = api_problems(loaded)
        if problems:
            raise BackendUnavailable(
                f"scheme '{scheme}' is unavailable: the backend from {entry.origin()} does not implement "
                f"the backend API: {'; '.join(problems)}"
            )
        for requirement in getattr(loaded, "requires", ()):
            requirement.load(scheme)  # its SDK: an image without the extra fails here, naming it
        return loaded

def _entry(ep: metadata.EntryPoint) -> BackendEntry:
    dist = getattr(ep, "dist", None)
    name = dist.metadata["Name"] if dist is not None else None
    version = dist.version if dist is not None else None
    return BackendEntry(ep.name, ep.value, name or "unknown", version or "?", ep)
