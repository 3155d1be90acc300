"""Backend-independent logic: configurations, the operator policy, the backend registry,
the store that runs Argo's calls on an fsspec filesystem, errors. Nothing here imports
gRPC or a storage SDK.

A backend author needs one module, :mod:`argo_artifact_driver.core.backend` (the
contract); its names are also importable from here, for backends written against the
first releases. Everything else in ``core`` is the engine, not an API.
"""

from .backend import *  # noqa: F403  (the contract, exactly: backend.__all__)
from .backend import __all__  # noqa: F401
