"""The conformance suite, exported so a backend from any package can be held to it.

Every built-in backend runs this suite in this repository's tests; a third-party backend
runs the same suite from its own tests::

    # conftest.py of your package
    pytest_plugins = ["argo_artifact_driver.plugin_server.testing.fixtures"]

    @pytest.fixture
    def store():
        return MyStore(...)   # a StoreUnderTest: your configuration + an fsspec view

    # test_conformance.py
    from argo_artifact_driver.plugin_server.testing.conformance import *  # noqa: F401,F403

The suite starts the plugin as a separate process (its console script, on a unix
socket, as Argo does) and checks every result out of band through ``store.fs``.
Needs pytest (the ``test`` extra).
"""
