"""The test kit, exported so a backend from any package can be held to the same suite.

Every built-in backend runs the conformance suite in this repository's tests; a
third-party backend runs the same suite from its own tests::

    # conftest.py of your package
    pytest_plugins = ["argo_artifact_driver.plugin_server.testing.fixtures"]

    @pytest.fixture
    def store():
        return MyStore(...)   # a StoreUnderTest: your configuration + an fsspec view

    # test_conformance.py
    from argo_artifact_driver.plugin_server.testing.conformance import *  # noqa: F401,F403

The suite starts the plugin as a separate process (its console script, on a unix
socket, as Argo does) and checks every result out of band through ``store.fs``.

What is here: ``conformance`` (the suite), ``fixtures`` (``plugin``, ``client``, ``key``,
``work_dir``, ``plugin_env``), ``store`` (:class:`StoreUnderTest`), ``plugin``
(:class:`PluginProcess`), ``processes`` (start and stop a test server by its own pid),
``policy`` (:func:`~.policy.write_policy`: an operator policy allowing exactly your test
servers, which live on loopback addresses the default policy refuses), and
:func:`configured` below. Needs pytest (the ``test`` extra).
"""

from __future__ import annotations

from typing import Any


def configured(configuration: str) -> Any:
    """The backend (or composite scheme) the plugin would build for ``configuration``:
    parsed, found through the installed entry points, options validated; no I/O. For a
    backend's own unit tests of its options."""
    from ...core.stores import StoreCache

    stores = StoreCache()
    return stores.configure(stores.parse(configuration))
