"""The check every credentials test module ends with: no secret value in logs or errors."""

from __future__ import annotations

from typing import Iterable

from argo_artifact_driver.plugin_server.testing.plugin import PluginProcess


def stop_and_assert_no_secret_leaked(proc: PluginProcess, errors: list[str], values: Iterable[str]) -> None:
    """Stop the plugin (exit 0), then scan its whole log and every error the module's tests
    collected for each secret ``value``. The scan must have read real calls, not nothing."""
    assert proc.stop() == 0
    log = proc.log_path.read_text()
    assert '"outcome":"ok"' in log and errors
    text = log + "\n".join(errors)
    for value in values:
        assert value not in text
