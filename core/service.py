"""From a request's configuration text to a ready store."""

from __future__ import annotations

import threading
from collections import OrderedDict

from .config import parse_configuration
from .registry import BackendRegistry
from .store import Store


class ArtifactService:
    """Parses configurations and keeps the resulting stores, so the YAML of a busy
    configuration is parsed and its backend built once, not on every call."""

    def __init__(self, registry: BackendRegistry | None = None, cache_size: int = 64) -> None:
        self.registry = registry or BackendRegistry()
        self._cache: OrderedDict[str, Store] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def store(self, configuration: str) -> Store:
        """The store for one ``plugin.configuration``; raises on a bad configuration."""
        with self._lock:
            store = self._cache.get(configuration)
            if store is not None:
                self._cache.move_to_end(configuration)
                return store
        store = self.registry.store(parse_configuration(configuration))
        with self._lock:
            self._cache[configuration] = store
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return store
