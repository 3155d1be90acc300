"""WebDAV backend for argo-artifact-driver: ``scheme: webdav`` through webdav4's fsspec filesystem."""

__version__ = "0.1.0"
