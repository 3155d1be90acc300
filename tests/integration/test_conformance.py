"""The conformance suite, run on every built-in backend (the ``store`` fixture in conftest)."""

from argo_artifact_driver.plugin_server.testing.conformance import *  # noqa: F401,F403
