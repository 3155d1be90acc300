"""From a configuration's text to a ready store: the one place stores are built.

Every store the plugin serves, the parts of composite schemes included, is built by
:meth:`StoreCache.build`: parse (bounded), find the scheme's class through the registry,
construct (options validated, no I/O), check it against the operator's policy, and wrap
the backend in an :class:`~.store.ArtifactStore` (or let a composite compose its parts
through this same function). Built stores are kept by configuration text, so a busy
configuration is parsed, checked and built once; each call reaches its store through the
per-call limits (:class:`~.limits.ServedStore`: key size, the endpoint's share of workers).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from .backend import Backend
from .composite import Composite
from .config import PluginConfig, config_from_mapping, parse_configuration
from .limits import EndpointGate, ServedStore
from .multipart import ByteBudget
from .observe import NO_OBSERVER, Observer
from .policy import Policy
from .registry import BackendRegistry
from .secrets import SecretResolver
from .settings import Settings
from .store import ArtifactStore, Store


class StoreCache:
    """Builds stores from configurations, and keeps the most recently used ones.

    ``observer`` hears what every store built here does (see :mod:`.observe`). ``policy``
    is the operator's policy every store must pass; None only for the operator's own
    tools (``argo-artifacts migrate``), which run configurations the operator wrote."""

    def __init__(
        self,
        settings: Settings | None = None,
        registry: BackendRegistry | None = None,
        secrets: SecretResolver | None = None,
        observer: Observer = NO_OBSERVER,
        policy: Policy | None = None,
    ) -> None:
        self.settings = settings or Settings.from_env()
        self.observer = observer
        self.registry = registry or BackendRegistry()
        # One resolver for every backend, so its short-lived cache is shared.
        self.secrets = secrets or SecretResolver.from_settings(self.settings)
        self.policy = policy
        share, workers = self.settings.endpoint_worker_share, self.settings.workers
        self.gate = EndpointGate(
            int(workers * share), f" ({share:g} of {workers} workers, ARGO_ARTIFACT_DRIVER_ENDPOINT_WORKER_SHARE)"
        )
        # One memory budget for the transfer buffers of every store: a bound for the process.
        self.budget = ByteBudget(self.settings.transfer_memory)
        self._cache: OrderedDict[str, Store] = OrderedDict()
        self._lock = threading.Lock()

    def served(self, configuration: str) -> ServedStore:
        """The store for one call with ``configuration``: :meth:`store` behind the per-call
        limits (the key's size, the endpoint's share of the workers)."""
        return ServedStore(self.store(configuration), self.gate, self.settings.max_key_bytes)

    def store(self, configuration: str) -> Store:
        """The store for one ``plugin.configuration``; raises on a bad configuration or one
        the policy refuses."""
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
        return parse_configuration(configuration, self.settings.default_scheme, self.settings.max_configuration_bytes)

    def configure(self, config: PluginConfig) -> Backend | Composite:
        """The scheme's backend (or composite) for ``config``, options validated; no I/O."""
        cls = self.registry.backend_class(config.scheme)
        if issubclass(cls, Composite):
            return cls(config.scheme, config.options)
        return cls(config.scheme, config.options, self.settings, self.secrets)

    def build(self, config: PluginConfig) -> Store:
        """The store serving ``config`` (composites build their parts through here too).

        The one place a configuration meets the operator's policy: after its backend is
        constructed (options validated, nothing resolved or connected) and before its
        store is built."""
        configured = self.configure(config)
        if self.policy is not None:
            self.policy.admit(configured)
        if isinstance(configured, Composite):
            return configured.build_store(self._build_part)
        return ArtifactStore(configured, self.observer, self.budget)

    def _build_part(self, data: Any, where: str) -> Store:
        return self.build(config_from_mapping(data, self.settings.default_scheme, where))
