"""Declared backend options: one table per backend validates what a user wrote.

A backend lists its options as :class:`Option` entries; :func:`validate_options` checks a
configuration against them and fails with a message naming the field. An unknown field
is an error that suggests the closest known name: a typo in a credentials option must
never silently fall back to anonymous access.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Mapping

from .errors import BadConfiguration

_MISSING = object()


@dataclass(frozen=True)
class Option:
    """One configuration field a backend accepts.

    ``type`` is a Python type (or a tuple of them) the parsed YAML value must have
    (``bool`` is never accepted where ``int`` is asked). A ``required`` option that is
    absent (or null) is an error whose message includes ``help``; an optional one takes
    ``default``. ``help`` is one line for people: it is shown by ``argo-artifacts check``
    and in error messages, so say what the value is and give an example.
    """

    type: type | tuple[type, ...] = str
    required: bool = False
    default: Any = None
    help: str = ""

    def type_name(self) -> str:
        types = self.type if isinstance(self.type, tuple) else (self.type,)
        return " or ".join(_TYPE_NAMES.get(t, t.__name__) for t in types)

    def describe(self, name: str) -> str:
        """One line for people: ``bucket (string, required): the bucket holding artifacts``."""
        if self.required:
            need = "required"
        elif self.default is None:
            need = "optional"
        else:
            need = f"default {self.default!r}"
        text = f"{name} ({self.type_name()}, {need})"
        return f"{text}: {self.help}" if self.help else text


_TYPE_NAMES = {str: "string", bool: "boolean", int: "integer", float: "number", dict: "mapping", list: "list"}


def validate_options(scheme: str, spec: Mapping[str, Option], given: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``given`` completed with defaults; raise :class:`BadConfiguration` on any problem."""
    problems = []
    for name in given:
        if name not in spec:
            problems.append(_unknown(name, spec))
    result: dict[str, Any] = {}
    for name, option in spec.items():
        value = given.get(name, _MISSING)
        if value is _MISSING or value is None:
            if option.required:
                problems.append(f"'{name}' is required ({option.help})" if option.help else f"'{name}' is required")
            result[name] = option.default
            continue
        if not _has_type(value, option.type):
            problems.append(f"'{name}' must be a {option.type_name()}, got {type(value).__name__}")
            continue
        result[name] = value
    if problems:
        raise BadConfiguration(f"invalid configuration for scheme '{scheme}': " + "; ".join(problems))
    return result


def describe_options(spec: Mapping[str, Option]) -> list[str]:
    """One line per option, in declaration order (see :meth:`Option.describe`)."""
    return [option.describe(name) for name, option in spec.items()]


def _has_type(value: Any, expected: type | tuple[type, ...]) -> bool:
    # bool is an int in Python; an option typed int must not accept true/false.
    if isinstance(value, bool):
        types = expected if isinstance(expected, tuple) else (expected,)
        return bool in types
    return isinstance(value, expected)


def _unknown(name: str, spec: Mapping[str, Option]) -> str:
    close = difflib.get_close_matches(name, list(spec), n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'?" if close else f"known options: {', '.join(sorted(spec))}"
    return f"unknown option '{name}' ({hint})"
