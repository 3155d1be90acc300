"""Backends found through entry points, installed for real as distribution metadata on
``sys.path`` (see the ``entry_points`` fixture): what is found, what is loaded, and how each
kind of broken package is reported for its own scheme only."""

from __future__ import annotations

import sys

import pytest

from argo_artifact_driver.core.errors import BackendUnavailable, NotFound, UnknownScheme
from argo_artifact_driver.core.registry import BackendRegistry
from argo_artifact_driver.core.settings import Settings
from argo_artifact_driver.core.store import ArtifactStore
from argo_artifact_driver.core.stores import StoreCache

GOOD = """
from support.memory import MemoryBackend

class Good(MemoryBackend):
    pass
"""
BROKEN = """
import unit_plugin_missing_sdk  # not installed
"""
MISFITS = """
from argo_artifact_driver.core.backend import Backend

class NotABackend:
    pass

class HalfDone(Backend):
    option_spec = {}

class FromTheFuture(Backend):
    api_version = 99
    def create_filesystem(self): ...
    def root(self): return ""
"""


@pytest.fixture
def group(entry_points):
    entry_points("unit-good", {"mem": "unit_plugin_good:Good", "twice": "unit_plugin_good:Good"},
                 {"unit_plugin_good.py": GOOD, "unit_plugin_broken.py": BROKEN, "unit_plugin_misfits.py": MISFITS})
    return entry_points("unit-bad", {
        "broken": "unit_plugin_broken:Anything", "not-a-backend": "unit_plugin_misfits:NotABackend",
        "half-done": "unit_plugin_misfits:HalfDone", "future": "unit_plugin_misfits:FromTheFuture",
        "twice": "unit_plugin_misfits:HalfDone",
    })


def test_discovery_imports_nothing(group):
    registry = BackendRegistry(group)
    assert registry.schemes() == ["broken", "future", "half-done", "mem", "not-a-backend", "twice"]
    assert [e.distribution for e in registry.entries("twice")] == ["unit-bad", "unit-good"]
    assert not [m for m in sys.modules if m.startswith("unit_plugin")]


def test_a_scheme_loads_only_its_own_module(group):
    registry = BackendRegistry(group)
    assert registry.backend_class("mem").__name__ == "Good"
    assert [m for m in sys.modules if m.startswith("unit_plugin")] == ["unit_plugin_good"]


@pytest.mark.parametrize(
    "scheme, error, text",
    [
        ("nope", UnknownScheme, "unknown scheme 'nope': no installed package provides a backend for it "
                                "(installed schemes: broken, future, half-done, mem, not-a-backend, twice)"),
        ("twice", BackendUnavailable, "2 installed packages claim it (package 'unit-bad' 1.0"),
        ("broken", BackendUnavailable, "failed to import: ModuleNotFoundError: No module named 'unit_plugin_missing_sdk'"),
        ("not-a-backend", BackendUnavailable, "NotABackend is not a subclass of argo_artifact_driver.core.backend.Backend"),
        ("half-done", BackendUnavailable, "HalfDone does not implement create_filesystem, root"),
        ("future", BackendUnavailable, "needs backend API version 99; this plugin supports 1"),
    ],
)
def test_each_problem_is_reported_for_its_scheme_only(group, scheme, error, text):
    registry = BackendRegistry(group)
    with pytest.raises(error) as info:
        registry.backend_class(scheme)
    assert text in str(info.value)
    assert registry.status(scheme).error == str(info.value)
    assert registry.backend_class("mem")  # the others keep working


def test_a_failure_is_remembered_not_retried_on_every_call(group):
    registry = BackendRegistry(group)
    for _ in range(2):
        with pytest.raises(BackendUnavailable):
            registry.backend_class("broken")
    assert "unit_plugin_broken" not in sys.modules


def test_the_store_cache_builds_once_per_configuration(group):
    stores = StoreCache(Settings(store_cache_size=2, default_scheme="mem"), BackendRegistry(group))
    first = stores.store("root: /cache-a")
    assert isinstance(first, ArtifactStore) and first.scheme == "mem"
    assert stores.store("root: /cache-a") is first
    stores.store("root: /cache-b")
    stores.store("root: /cache-c")  # evicts the least recently used (cache-a)
    assert stores.store("root: /cache-a") is not first


def test_composite_parts_are_built_like_any_configuration(entry_points):
    group = entry_points("unit-comp", {"mem": "unit_plugin_comp:Good",
                                       "fallback": "argo_artifact_driver.core.fallback:FallbackScheme"},
                         {"unit_plugin_comp.py": GOOD})
    stores = StoreCache(Settings(default_scheme="mem"), BackendRegistry(group))
    store = stores.store("scheme: fallback\nprimary: {root: /comp-new}\nfallback: {root: /comp-old}\n")
    assert store.describe() == "mem://comp-new with fallback mem://comp-old"
    store.primary.fs.mkdir("/comp-new")
    with pytest.raises(NotFound, match="nor in the fallback store"):
        list(store.open_stream("k"))
    with pytest.raises(UnknownScheme, match="^'fallback' of scheme 'fallback': unknown scheme 'nope'"):
        stores.store("scheme: fallback\nprimary: {root: /x}\nfallback: {scheme: nope}\n")
