"""Finding backends: entry points in the group ``argo_artifact_driver.backends``.

The entry-point name is the scheme. Discovery reads installed distributions' metadata
(importlib.metadata) and imports nothing: it is what names the distribution behind each
scheme and finds two packages claiming one. Loading goes through stevedore's
DriverManager, which imports only the named entry point, when that scheme is first used. Every problem is reported for its own scheme only, naming the distribution
that declared it and the reason, while every other scheme keeps working:

* no distribution declares the scheme: :class:`~.errors.UnknownScheme`;
* two or more distributions declare it: :class:`~.errors.BackendUnavailable` naming
  them all (never resolved by install order, and neither is imported);
* the import fails, or what it gives breaks the API (:func:`~.backend.api_problems`):
  :class:`~.errors.BackendUnavailable` with the cause.

A distribution is found under one name once (``importlib.metadata`` keeps the first on
``sys.path``), so the same package seen twice on the path is not a conflict.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from importlib import metadata
from typing import TYPE_CHECKING, Any

from .backend import Backend, api_problems
from .config import PluginConfig
from .errors import ArtifactError, BackendUnavailable, UnknownScheme
from .secrets import SecretResolver
from .settings import Settings

if TYPE_CHECKING:
    from .store import Store

ENTRY_POINT_GROUP = "argo_artifact_driver.backends"


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
    """Backends by scheme, loaded on demand. Pass one around; there is no global instance."""

    def __init__(
        self, namespace: str = ENTRY_POINT_GROUP, settings: Settings | None = None, secrets: SecretResolver | None = None
    ) -> None:
        self.namespace = namespace
        self.settings = settings or Settings.from_env()
        self._entries: dict[str, tuple[BackendEntry, ...]] | None = None
        # One resolver for every backend, so its short-lived cache is shared.
        self.secrets = secrets or SecretResolver.from_env()
        self._classes: dict[str, type[Backend]] = {}
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

    def backend_class(self, scheme: str) -> type[Backend]:
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

    def create(self, config: PluginConfig) -> Backend:
        """A backend instance for one parsed configuration (options validated)."""
        return self.backend_class(config.scheme)(config.scheme, config.options, self.settings, secrets=self.secrets)

    def status(self, scheme: str) -> BackendStatus:
        """Try to load ``scheme`` (imports its module) and say whether it works."""
        try:
            self.backend_class(scheme)
        except ArtifactError as exc:
            return BackendStatus(scheme, self.entries(scheme), exc.message)
        return BackendStatus(scheme, self.entries(scheme))

    def store(self, config: PluginConfig) -> "Store":
        """The store serving one parsed configuration: the backend's own store, or for a
        composite scheme (``fallback``) the store composed of its parts."""
        return self.create(config).build_store(self)

    def _load(self, scheme: str) -> type[Backend]:
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
            loaded = self._import(scheme)
        except Exception as exc:  # any failure while importing a third party's module
            raise BackendUnavailable(
                f"scheme '{scheme}' is unavailable: the backend from {entry.origin()} failed to import: "
                f"{type(exc).__name__}: {exc}; reinstall or upgrade that package"
            ) from None
        problems = api_problems(loaded)
        if problems:
            raise BackendUnavailable(
                f"scheme '{scheme}' is unavailable: the backend from {entry.origin()} does not implement "
                f"the backend API: {'; '.join(problems)}"
            )
        return loaded

    def _import(self, scheme: str) -> Any:
        """Import the one entry point named ``scheme`` (conflicts were ruled out above)."""
        from stevedore import driver

        manager = driver.DriverManager(
            self.namespace, scheme, invoke_on_load=False, on_load_failure_callback=_reraise
        )
        return manager.driver


def _reraise(_manager: Any, _entry_point: Any, exc: BaseException) -> None:
    # stevedore's default logs a failed import and carries on, which would turn a broken
    # backend into "unknown scheme"; the caller reports the real cause instead.
    raise exc


def _entry(ep: metadata.EntryPoint) -> BackendEntry:
    dist = getattr(ep, "dist", None)
    name = dist.metadata["Name"] if dist is not None else None
    version = dist.version if dist is not None else None
    return BackendEntry(ep.name, ep.value, name or "unknown", version or "?", ep)
