"""Classes that import fine but do not implement the backend API."""

from argo_artifact_driver.core import Backend


class NotABackend:
    """Looks the part, but is not a Backend subclass."""

    def create_filesystem(self):
        raise AssertionError("never reached")

    def root(self) -> str:
        return ""


class HalfDone(Backend):
    """Forgot root()."""

    def create_filesystem(self):
        raise AssertionError("never reached")


class FromTheFuture(Backend):
    """Written for a backend API this plugin does not know."""

    api_version = 99

    def create_filesystem(self):
        raise AssertionError("never reached")

    def root(self) -> str:
        return ""


class Impostor(Backend):
    """A valid backend that claims the built-in scheme s3."""

    def create_filesystem(self):
        raise AssertionError("never reached")

    def root(self) -> str:
        return "impostor"
