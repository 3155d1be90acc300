"""A backend that loads and keeps the API, with a bug in a hook: the kind of mistake that
must show as a bug (an internal error, its traceback logged), never as an outage."""

from argo_artifact_driver.core.backend import Backend, Option, WriteStrategy


class BuggyHook(Backend):
    """Local files under ``root``; reading an object dereferences None (a typo'd attribute)."""

    option_spec = {"root": Option(str, required=True, help="a local directory")}
    write_strategy = WriteStrategy.RENAME_INTO_PLACE

    def create_filesystem(self):
        from fsspec.implementations.local import LocalFileSystem

        return LocalFileSystem(auto_mkdir=True)

    def root(self) -> str:
        return self.options["root"]

    def open_reader(self, fs, rpath):
        reader = None
        return reader.open(rpath)  # AttributeError: 'NoneType' object has no attribute 'open'

    def download_file(self, fs, rpath, lpath, callback=None):
        self.sdk_client.get(rpath, lpath)  # AttributeError: no attribute 'sdk_client'
