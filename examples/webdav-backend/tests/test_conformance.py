"""The same conformance suite the built-in backends pass, on scheme webdav."""

from argo_artifact_driver.plugin_server.testing.conformance import *  # noqa: F401,F403
