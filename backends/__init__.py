"""One module per storage system; each is an entry point in ``argo_artifact_driver.backends``.

A backend module imports only core at module level; its storage SDK is imported inside
``create_filesystem`` so that listing or validating backends never needs the SDK, and a
missing one is reported with the extra that installs it.
"""
