"""A backend whose module cannot be imported: its SDK is not installed."""

import argo_artifact_missing_sdk  # noqa: F401  (no such module, on purpose)

from argo_artifact_driver.core import Backend


class ImportsAMissingSdk(Backend):
    def create_filesystem(self):
        raise AssertionError("never reached")

    def root(self) -> str:
        return ""
