"""Backend-independent logic: configuration, the backend registry, the fsspec store, errors.

Nothing here knows gRPC or any storage SDK. Third-party backends import
:class:`Backend` and :class:`Option` from here.
"""

from .backend import API_VERSION, Backend, CompositeBackend, RenameOnCommit
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
    "Settings",
    "StorageUnavailable",
    "UnknownScheme",
    "parse_configuration",
]
