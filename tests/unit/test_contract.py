"""The backend contract is one module, and its hook table says exactly what is in it."""

from __future__ import annotations

import inspect
import re

import pytest

import argo_artifact_driver.core as core_package
from argo_artifact_driver.core import backend
from argo_artifact_driver.core.backend import Backend

#: Methods of Backend that are helpers for backends to call, not hooks to override.
HELPERS = {"secret", "secret_options"}


def table_names() -> set[str]:
    """Names in the hook table of the contract's docstring (``name`` or ``name()``)."""
    table = backend.__doc__.split("Declared (class attributes)")[1].split("Compatibility:")[0]
    return set(re.findall(r"^``(\w+)(?:\(\))?``", table, re.MULTILINE))


def test_the_table_lists_every_hook_and_declaration_and_nothing_else():
    methods = {name for name, _ in inspect.getmembers(Backend, inspect.isfunction) if not name.startswith("_")}
    declared = {"api_version", "option_spec", "requires", "write_strategy", "filesystem_per_thread",
                "writer_records_checksum"}
    assert table_names() == (methods - HELPERS) | declared


def test_every_hook_says_what_it_must_do():
    for name in table_names():
        member = getattr(Backend, name)
        if inspect.isfunction(member):
            assert member.__doc__ and len(member.__doc__) > 40, name


def test_the_package_exports_exactly_the_contract():
    assert set(core_package.__all__) == set(backend.__all__)
    for name in backend.__all__:
        assert getattr(core_package, name) is getattr(backend, name)


def test_the_docs_page_has_the_same_table():
    from pathlib import Path

    page = (Path(__file__).resolve().parents[2] / "docs" / "writing-a-backend.md").read_text()
    section = page.split("## The contract at a glance")[1].split("\n## ")[0]
    assert set(re.findall(r"^\| `(\w+)(?:\(\))?` \|", section, re.MULTILINE)) == table_names()


def test_a_backend_imports_what_it_declares_and_names_the_extra():
    class Declared(Backend):
        requires = (backend.Requirement("json"), backend.Requirement("no_such_sdk_pkg", extra="nosuch"))

        def create_filesystem(self):  # pragma: no cover - never built here
            raise AssertionError

        def root(self) -> str:
            return ""

    assert Declared.sdk("json.decoder", "x").__name__ == "json.decoder"
    with pytest.raises(backend.BackendUnavailable, match=r"scheme 'x' needs .*no_such_sdk_pkg.*\[nosuch\]"):
        Declared.sdk("no_such_sdk_pkg", "x")
    with pytest.raises(LookupError, match="does not declare it in 'requires'"):
        Declared.sdk("csv", "x")  # a bug in the backend, not a missing extra
    assert backend.api_problems(Declared) == []
    Declared.requires = ("json",)
    assert backend.api_problems(Declared) == ["Declared.requires must be a tuple of Requirement"]
