"""argo-artifact-driver: an Argo Workflows artifact plugin over fsspec.

The repository root is this package: ``core/``, ``backends/`` and ``plugin_server/``
are its subpackages (see setup.cfg), so nothing is installed under a generic top-level
name such as ``core``.
"""

__version__ = "0.1.0"
