"""An operator policy for a test's plugin process, allowing exactly what the test uses.

The plugin refuses loopback endpoints and local files by default (see the security page
of the docs), and test servers live on 127.0.0.1: a test gives its plugin a policy that
lists its servers and file roots, the way an operator lists theirs; never a switch that
turns the policy off. Pass the returned environment to the plugin process (in the
``plugin_env`` fixture, or to :class:`~.plugin.PluginProcess`)::

    @pytest.fixture(scope="session")
    def plugin_env(work_dir, my_server):
        return {**MY_ENV, **write_policy(work_dir / "policy.yaml", endpoints=[my_server.endpoint])}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Mapping


def write_policy(
    path: Path,
    *,
    endpoints: Iterable[str] | None = None,
    roots: Iterable[str | Path] = (),
    schemes: Iterable[str] | None = None,
    protocols: Iterable[str] | None = None,
    secrets: Mapping[str, Iterable[str]] | None = None,
) -> dict[str, str]:
    """Write a policy file allowing ``endpoints`` (``host:port``, listed exactly, so a
    loopback test server is trusted; None: the default, any endpoint the address rules
    allow), ``roots`` (local directories), ``schemes`` (None: every installed scheme,
    ``file`` only when ``roots`` are given), ``protocols`` (fsspec; None: the default
    list) and ``secrets`` (name -> endpoints it may be sent to; None: the default).
    Returns the environment that names it."""
    policy: dict = {"file": {"roots": [str(r) for r in roots]}}
    if endpoints is not None:
        policy["endpoints"] = list(endpoints)
    if schemes is None and policy["file"]["roots"]:
        from ...core.registry import BackendRegistry  # reads entry points, imports nothing

        schemes = BackendRegistry().schemes()
    if schemes is not None:
        policy["schemes"] = list(schemes)
    if protocols is not None:
        policy["fsspec"] = {"protocols": list(protocols)}
    if secrets is not None:
        policy["secrets"] = [{"name": name, "endpoints": list(where)} for name, where in secrets.items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(policy, indent=2) + "\n")  # JSON is YAML
    return {"ARGO_ARTIFACT_DRIVER_POLICY": str(path)}
