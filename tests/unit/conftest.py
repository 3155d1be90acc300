"""The unit layer: core in-process, on fsspec's ``memory`` filesystem (see
``support/memory.py``). No server, no subprocess; the whole layer runs in seconds."""

from __future__ import annotations

import itertools
import sys
import textwrap
from pathlib import Path
from typing import Callable

import pytest

from argo_artifact_driver.core.store import ArtifactStore
from support.memory import MemoryBackend, PartsMemoryBackend, RenamingMemoryBackend, make_store

_groups = itertools.count()


@pytest.fixture(
    params=[MemoryBackend, PartsMemoryBackend, RenamingMemoryBackend], ids=["atomic-upload", "parts", "rename-into-place"]
)
def store(request: pytest.FixtureRequest) -> ArtifactStore:
    """A memory store, once per write strategy."""
    return make_store(request.param)


@pytest.fixture
def entry_points(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """Install entry points for real, as a distribution's metadata on ``sys.path``:
    ``entry_points("dist-name", {"scheme": "module:Class"}, {"module.py": source})``
    returns the entry-point group to give a :class:`BackendRegistry`."""
    group = f"argo_artifact_driver.unit{next(_groups)}"
    monkeypatch.syspath_prepend(str(tmp_path))

    def install(distribution: str, entries: dict[str, str], modules: dict[str, str] | None = None) -> str:
        info = tmp_path / f"{distribution.replace('-', '_')}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 1.0\n")
        lines = "\n".join(f"{name} = {target}" for name, target in entries.items())
        (info / "entry_points.txt").write_text(f"[{group}]\n{lines}\n")
        for name, source in (modules or {}).items():
            (tmp_path / name).write_text(textwrap.dedent(source))
        return group

    yield install
    for name in [m for m in sys.modules if m.startswith("unit_plugin")]:
        del sys.modules[name]
