"""Backend-independent logic: configuration, the backend registry, the fsspec store, errors.

Nothing here knows gRPC or any storage SDK. The backend API for third parties is
:class:`Backend`, :class:`RenameOnCommit`, :class:`Option`, :data:`API_VERSION`,
:func:`api_problems` and the errors below; import them from here (see ``backend.py``).
"""

from .backend import API_VERSION, SUPPORTED_API_VERSIONS, Backend, CompositeBackend, RenameOnCommit, api_problems
from .config import PluginConfig, parse_configuration
from .errors import (
    ArtifactError,
    BackendUnavailable,
    BadConfiguration,
    BadRequest,
    Conflict,
    NotFound,
    PermissionDenied,
    StorageUnavailable,
    UnknownScheme,
)
from .options import Option
from .registry import ENTRY_POINT_GROUP, BackendRegistry
from .service import ArtifactService
from .settings import Settings
from .store import ArtifactStore

__all__ = [
    "API_VERSION",
    "ArtifactError",
    "ArtifactService",
    "ArtifactStore",
    "Backend",
    "BackendRegistry",
    "BackendUnavailable",
    "BadConfiguration",
    "BadRequest",
    "CompositeBackend",
    "Conflict",
    "ENTRY_POINT_GROUP",
    "NotFound",
    "Option",
    "PermissionDenied",
    "PluginConfig",
    "RenameOnCommit",
    "SUPPORTED_API_VERSIONS",
    "Settings",
    "StorageUnavailable",
    "UnknownScheme",
    "api_problems",
    "parse_configuration",
]
