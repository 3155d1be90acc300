"""The module map, checked: gRPC only in plugin_server/, storage SDKs only in backends/,
backends see only the contract, and core has no import cycle. Read from the source (the
same thing the architecture page of the docs states)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SDKS = ("s3fs", "gcsfs", "adlfs", "aiobotocore", "botocore", "boto3", "google", "azure", "sshfs", "asyncssh", "aiohttp")


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports, relative imports resolved to argo_artifact_driver.*."""
    package = ["argo_artifact_driver", *path.relative_to(REPO).parent.parts]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            found.add(module)
            if not node.module:  # from . import x
                found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def sources(folder: str) -> list[Path]:
    return sorted(p for p in (REPO / folder).rglob("*.py") if "_pb2" not in p.name)


@pytest.mark.parametrize("path", sources("core"), ids=lambda p: p.name)
def test_core_knows_neither_grpc_nor_opentelemetry_nor_storage_sdks_nor_the_layers_around_it(path):
    bad = {m for m in imports(path) if m.split(".")[0] in ("grpc", "opentelemetry", *SDKS)
           or m.startswith(("argo_artifact_driver.plugin_server", "argo_artifact_driver.backends"))}
    assert not bad, f"{path.name} imports {sorted(bad)}"


@pytest.mark.parametrize("path", sources("backends"), ids=lambda p: p.name)
def test_backends_see_only_the_contract(path):
    ours = {m for m in imports(path) if m.startswith("argo_artifact_driver")}
    allowed = {"argo_artifact_driver.core.backend", "argo_artifact_driver.core.imports", "argo_artifact_driver.backends",
               "argo_artifact_driver.backends._errors", "argo_artifact_driver.backends._redirects",
               "argo_artifact_driver.backends._http"}
    assert ours <= allowed, f"{path.name} imports {sorted(ours - allowed)}"
    assert "grpc" not in {m.split(".")[0] for m in imports(path)}


@pytest.mark.parametrize("path", sources("plugin_server"), ids=lambda p: p.name)
def test_plugin_server_knows_no_storage_system(path):
    bad = {m for m in imports(path) if m.split(".")[0] in SDKS or m.startswith("argo_artifact_driver.backends")}
    assert not bad, f"{path.name} imports {sorted(bad)}"


def test_core_has_no_import_cycle():
    graph = {}
    for path in sources("core"):
        name = f"argo_artifact_driver.core.{path.stem}"
        graph[name] = {m for m in imports(path) if m.startswith("argo_artifact_driver.core.") and m != name}
    graph = {name: {m for m in deps if m in graph} for name, deps in graph.items()}
    visiting, done = set(), set()

    def visit(node: str, trail: list[str]) -> None:
        if node in done:
            return
        assert node not in visiting, "import cycle: " + " -> ".join([*trail, node])
        visiting.add(node)
        for dep in sorted(graph[node]):
            visit(dep, [*trail, node])
        visiting.discard(node)
        done.add(node)

    for node in sorted(graph):
        visit(node, [])


def test_the_contract_imports_no_engine_module():
    engine = {"store", "stores", "registry", "fscache", "localfs", "fallback", "composite", "migration", "transfer", "policy"}
    ours = {m.rsplit(".", 1)[1] for m in imports(REPO / "core" / "backend.py") if m.startswith("argo_artifact_driver.core.")}
    assert not ours & engine
