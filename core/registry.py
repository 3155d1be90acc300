"""Finding backends: stevedore entry points in ``argo_artifact_driver.backends``.

The entry-point name is the scheme. Nothing is imported until a scheme is first asked
for, and then only that scheme's module (stevedore's DriverManager checks the name
before loading); the class is kept for every later request.
"""

from __future__ import annotations

import threading
from importlib import metadata
from typing import TYPE_CHECKING, Any

from .backend import SUPPORTED_API_VERSIONS, Backend
from .config import PluginConfig
from .errors import BackendUnavailable, UnknownScheme
from .settings import Settings

if TYPE_CHECKING:
    from .store import Store

ENTRY_POINT_GROUP = "argo_artifact_driver.backends"


class BackendRegistry:
    """Backends by scheme, loaded on demand. Pass one around; there is no global instance."""

    def __init__(self, namespace: str = ENTRY_POINT_GROUP, settings: Settings | None = None) -> None:
        self.namespace = namespace
        self.settings = settings or Settings.from_env()
        self._classes: dict[str, type[Backend]] = {}
        self._lock = threading.Lock()

    def schemes(self) -> list[str]:
        """Every scheme declared by an installed distribution (nothing is imported)."""
        return sorted({ep.name for ep in metadata.entry_points(group=self.namespace)})

    def backend_class(self, scheme: str) -> type[Backend]:
        """The backend class for ``scheme``, importing its module on first use."""
        cls = self._classes.get(scheme)
        if cls is None:
            with self._lock:
                cls = self._classes.get(scheme)
                if cls is None:
                    cls = self._load(scheme)
                    self._classes[scheme] = cls
        return cls

    def create(self, config: PluginConfig) -> Backend:
        """A backend instance for one parsed configuration (options validated)."""
        return self.backend_class(config.scheme)(config.scheme, config.options, self.settings)

    def store(self, config: PluginConfig) -> "Store":
        """The store serving one parsed configuration: the backend's own store, or for a
        composite scheme (``fallback``) the store composed of its parts."""
        return self.create(config).build_store(self)

    def _load(self, scheme: str) -> type[Backend]:
        from stevedore import driver, exception

        try:
            manager = driver.DriverManager(
                self.namespace, scheme, invoke_on_load=False, on_load_failure_callback=_reraise
            )
        except exception.NoMatches:
            installed = ", ".join(self.schemes()) or "none"
            raise UnknownScheme(
                f"unknown scheme '{scheme}': no installed backend serves it (installed schemes: {installed}); "
                "check 'scheme' in the plugin configuration, or install the package that provides it"
            ) from None
        except exception.MultipleMatches as exc:
            raise BackendUnavailable(
                f"scheme '{scheme}' is claimed by more than one installed package ({exc}); "
                "uninstall all but one"
            ) from None
        except _LoadFailure as failure:
            raise BackendUnavailable(
                f"the backend for scheme '{scheme}' ({failure.target}) failed to load: {failure.cause}"
            ) from None
        return _checked(scheme, manager.driver, manager.extensions[0].entry_point.value)


class _LoadFailure(Exception):
    def __init__(self, target: str, cause: BaseException) -> None:
        super().__init__(target)
        self.target = target
        self.cause = f"{type(cause).__name__}: {cause}"


def _reraise(_manager: Any, entry_point: Any, exc: BaseException) -> None:
    # stevedore's default is to log a load failure and carry on, which would turn a
    # broken backend into "unknown scheme"; report the real cause instead.
    raise _LoadFailure(getattr(entry_point, "value", str(entry_point)), exc)


def _checked(scheme: str, cls: Any, target: str) -> type[Backend]:
    if not (isinstance(cls, type) and issubclass(cls, Backend)):
        raise BackendUnavailable(
            f"the backend for scheme '{scheme}' ({target}) is not a subclass of "
            "argo_artifact_driver.core.backend.Backend"
        )
    if getattr(cls, "__abstractmethods__", None):
        missing = ", ".join(sorted(cls.__abstractmethods__))
        raise BackendUnavailable(f"the backend for scheme '{scheme}' ({target}) does not implement: {missing}")
    if cls.api_version not in SUPPORTED_API_VERSIONS:
        supported = ", ".join(str(v) for v in sorted(SUPPORTED_API_VERSIONS))
        raise BackendUnavailable(
            f"the backend for scheme '{scheme}' ({target}) needs backend API version {cls.api_version}; "
            f"this plugin supports {supported}"
        )
    return cls
