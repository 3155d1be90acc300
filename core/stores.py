"""From a configuration's text to a ready store: the one place stores are built.

Every store the plugin serves, the parts of composite schemes included, is built by
:meth:`StoreCache.build`: parse, find the scheme's class through the registry, construct
(options validated, no I/O), and wrap the backend in an :class:`~.store.ArtifactStore`
(or let a composite compose its parts through this same function). Built stores are kept
by configuration text, so a busy configuration is parsed and its backend built once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from .backend import Backend
from .composite import Composite
from .config import PluginConfig, config_from_mapping, parse_configuration
from .multipart import ByteBudget
from .observe import NO_OBSERVER, Observer
from .registry import BackendRegistry
from .secrets import SecretResolver
from .settings import Settings
from .store import ArtifactStore, Store


class StoreCache:
    """Builds stores from configurations, and keeps the most recently used ones.

    ``observer`` hears what every store built here does (see :mod:`.observe`)."""

    def __init__(
        self,
        settings: Settings | None = None,
        registry: BackendRegistry | None = None,
        secrets: SecretResolver | None = None,
        observer: Observer = NO_OBSERVER,
    ) -> None:
        self.settings = settings or Settings.from_env()
        self.observer = observer
        self.registry = registry or BackendRegistry()
        # One resolver for every backend, so its short-lived cache is shared.
        self.secrets = secrets or SecretResolver.from_settings(self.settings)
        # One memory budget for the transfer buffers of every store: a bound for the process.
        self.budget = ByteBudget(self.settings.transfer_memory)
        self._cache: OrderedDict[str, Store] = OrderedDict()
        self._lock = threading.Lock()

    def store(self, configuration: str) -> Store:
        """The store for one ``plugin.configuration``; raises on a bad configuration."""
        with self._lock:
            store = self._cache.get(configuration)
            if store is not None:
                self._cache.move_to_end(configuration)
                return store
        store = self.build(self.parse(configuration))
        with self._lock:
            self._cache[configuration] = store
            while len(self._cache) > self.settings.store_cache_size:
                self._cache.popitem(last=False)
        return store

    def parse(self, configuration: str) -> PluginConfig:
        """The parsed configuration (the operator's default scheme where it names none)."""
        return parse_configuration(configuration, self.settings.default_scheme)

    def configure(self, config: PluginConfig) -> Backend | Composite:
        """The scheme's backend (or composite) for ``config``, options validated; no I/O."""
        cls = self.registry.backend_class(config.scheme)
        if issubclass(cls, Composite):
            return cls(config.scheme, config.options)
        return cls(config.scheme, config.options, self.settings, self.secrets)

    def build(self, config: PluginConfig) -> Store:
        """The store serving ``config`` (composites build their parts through here too)."""
        configured = self.configure(config)
        if isinstance(configured, Composite):
            return configured.build_store(self._build_part)
        return ArtifactStore(configured, self.observer, self.budget)

    def _build_part(self, data: Any, where: str) -> Store:
        return self.build(config_from_mapping(data, self.settings.default_scheme, where))
