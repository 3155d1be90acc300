"""Declared backend options: one table per backend validates what a user wrote.

A backend lists its options as :class:`Option` entries; :func:`validate_options` checks a
configuration against them and fails with a message naming the field. An unknown field
is an error that suggests the closest known name, at every level of nesting
(``encryptionOptions.kmsKeyID`` suggests ``kmsKeyId``): a typo in a credentials option
must never silently fall back to anonymous access.

An option made with :func:`secret_ref` holds a reference ``{name, key}`` to a Kubernetes
secret; validation turns it into a :class:`~.secrets.SecretRef`, so resolving secrets and
reporting where they come from is generic (see :meth:`.backend.Backend.secret_options`).
An option whose value names a host or a local path says so (:class:`Reach`): the
operator's policy checks every such value, for every backend, in one place.

Fields that users bring from Argo's artifact-repository blocks but that Argo's
controller consumes (``keyFormat``, ...) are refused for every scheme with a message
saying where they belong (:data:`CONTROLLER_FIELDS`).
"""

from __future__ import annotations

import difflib
import enum
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping
from urllib.parse import urlsplit

from .errors import BadConfiguration
from .secrets import SecretRef, secret_key_problem, secret_name_problem

_MISSING = object()


class Reach(enum.Enum):
    """What an option's value makes the plugin reach, for the operator's policy."""

    #: a server: ``host``, ``host:port`` or a URL (``https://host:port/path``)
    HOST = "host"
    #: a path on the plugin's own file system
    LOCAL_PATH = "local path"
    #: the name of an fsspec implementation (which decides what the store can reach)
    FSSPEC_PROTOCOL = "fsspec protocol"


@dataclass(frozen=True)
class Option:
    """One configuration field a backend accepts.

    ``type`` is a Python type (or a tuple of them) the parsed YAML value must have
    (``bool`` is never accepted where ``int`` is asked). A ``required`` option that is
    absent (or null) is an error whose message includes ``help``; an optional one takes
    ``default``. ``help`` is one line for people: it is shown by ``argo-artifacts check``
    and in error messages, so say what the value is and give an example.

    ``choices`` lists the values accepted; ``check`` is called with a value of the right
    type and returns what is wrong with it (a phrase completing "'name' ...", like
    "must be a bucket name, without '/'"), or None when it is fine.

    ``fields`` declares the keys of a mapping value (validated recursively); ``secret``
    marks a secret reference; ``reaches`` says what the value makes the plugin reach (a
    host, a local path), so that the operator's policy checks it. ``misplaced`` is not an
    option at all: a field that users bring from Argo's repository blocks but that belongs
    elsewhere; writing it is an error that says where it goes (the text of ``help``).
    """

    type: type | tuple[type, ...] = str
    required: bool = False
    default: Any = None
    help: str = ""
    choices: tuple[Any, ...] = ()
    check: Callable[[Any], str | None] | None = None
    fields: Mapping[str, "Option"] | None = None
    secret: bool = False
    reaches: Reach | None = None
    misplaced: bool = False

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
        if self.choices:
            need += f", one of {', '.join(_show(c) for c in self.choices)}"
        text = f"{name} ({self.type_name()}, {need})"
        return f"{text}: {self.help}" if self.help else text


_TYPE_NAMES = {str: "string", bool: "boolean", int: "integer", float: "number", dict: "mapping", list: "list"}

# Names and keys as Kubernetes accepts them, so '#', '/' or '?' never reach a path or a URL.
_SECRET_FIELDS = {
    "name": Option(str, required=True, help="the Kubernetes secret's name", check=secret_name_problem),
    "key": Option(str, required=True, help="the key inside the secret", check=secret_key_problem),
}


def secret_ref(help: str) -> Option:
    """An option holding ``{name, key}`` of a Kubernetes secret, as Argo's ``*Secret`` fields."""
    return Option(dict, help=help, fields=_SECRET_FIELDS, secret=True)


def misplaced(explanation: str) -> Option:
    """A field that is refused with ``explanation`` (where it belongs, or why it has no effect)."""
    return Option(object, help=explanation, misplaced=True)


def name_without_slash(value: str) -> str | None:
    """An :attr:`Option.check` for the name of a bucket or container."""
    return "must be a name, without '/'" if "/" in value.strip("/") or not value.strip("/") else None


_CONTROLLER_SIDE = (
    "Argo's workflow controller expands it into plugin.key; put it next to 'configuration' in the "
    "artifact repository (plugin: {name: ..., keyFormat: ..., configuration: ...})"
)

#: Fields of Argo's artifact-repository blocks that Argo's controller consumes: written
#: inside ``configuration`` they would silently do nothing, so every scheme refuses them
#: with where they belong (a backend may still declare an option of the same name).
CONTROLLER_FIELDS: Mapping[str, Option] = {
    "keyFormat": misplaced(_CONTROLLER_SIDE),
    "blobNameFormat": misplaced(_CONTROLLER_SIDE.replace("keyFormat: ...", "keyFormat: ... (blobNameFormat in "
                                                         "Argo's Azure repository)")),
    "keyPrefix": misplaced(
        "Argo deprecated it; write the prefix into plugin.keyFormat instead, e.g. "
        "keyFormat: 'my-prefix/{{workflow.name}}/{{pod.name}}'"
    ),
    "key": misplaced("the artifact's key is plugin.key (or plugin.keyFormat in the artifact repository)"),
    "blob": misplaced("the artifact's key is plugin.key (or plugin.keyFormat in the artifact repository)"),
}


def validate_options(scheme: str, spec: Mapping[str, Option], given: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``given`` completed with defaults; raise :class:`BadConfiguration` on any problem."""
    problems: list[str] = []
    result = _validate_mapping({**CONTROLLER_FIELDS, **spec}, given, "", problems)
    if problems:
        raise BadConfiguration(f"invalid configuration for scheme '{scheme}': " + "; ".join(problems))
    return result


def describe_options(spec: Mapping[str, Option]) -> list[str]:
    """One line per option, in declaration order (see :meth:`Option.describe`)."""
    return [option.describe(name) for name, option in spec.items()]


def _validate_mapping(spec: Mapping[str, Option], given: Mapping[str, Any], prefix: str, problems: list[str]) -> dict[str, Any]:
    for name in given:
        option = spec.get(str(name))
        if option is None:
            problems.append(_unknown(prefix + str(name), str(name), spec))
        elif option.misplaced:
            problems.append(f"'{prefix}{name}' is not a plugin option: {option.help}")
    result: dict[str, Any] = {}
    for name, option in spec.items():
        if option.misplaced:
            continue
        value = given.get(name, _MISSING)
        if value is _MISSING or value is None:
            if option.required:
                problems.append(f"'{prefix}{name}' is required" + (f" ({option.help})" if option.help else ""))
            result[name] = option.default
            continue
        if not _has_type(value, option.type):
            problems.append(f"'{prefix}{name}' must be {_describe_type(option)}, got {type(value).__name__}")
            continue
        if option.choices and value not in option.choices:
            shown = ", ".join(_show(c) for c in option.choices)
            problems.append(f"'{prefix}{name}' must be one of {shown}, got {_show(value)}")
            continue
        problem = option.check(value) if option.check is not None else None
        if problem:
            problems.append(f"'{prefix}{name}' {problem}")
            continue
        if option.fields is not None and isinstance(value, Mapping):
            value = _validate_mapping(option.fields, value, f"{prefix}{name}.", problems)
            if option.secret and value.get("name") and value.get("key"):
                value = SecretRef.from_mapping(value)
        result[name] = value
    return result


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)


def _describe_type(option: Option) -> str:
    if option.secret:
        return "a secret reference like {name: my-secret, key: accesskey}"
    name = option.type_name()
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def _has_type(value: Any, expected: type | tuple[type, ...]) -> bool:
    # bool is an int in Python; an option typed int must not accept true/false.
    if isinstance(value, bool):
        types = expected if isinstance(expected, tuple) else (expected,)
        return bool in types
    return isinstance(value, expected)


def _unknown(path: str, name: str, spec: Mapping[str, Option]) -> str:
    known = [n for n, o in spec.items() if not o.misplaced]
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if not close:  # case slips (roleArn for roleARN, useSdkCreds for useSDKCreds)
        close = [n for n in known if n.lower() == name.lower()]
    hint = f"did you mean '{close[0]}'?" if close else f"known options: {', '.join(sorted(known))}"
    return f"unknown option '{path}' ({hint})"


def iter_secret_options(spec: Mapping[str, Option], options: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, SecretRef]]:
    """(dotted option name, reference) of every secret reference set in validated ``options``."""
    for name, option in spec.items():
        value = options.get(name)
        if option.secret and isinstance(value, SecretRef):
            yield prefix + name, value
        elif option.fields is not None and isinstance(value, Mapping):
            yield from iter_secret_options(option.fields, value, f"{prefix}{name}.")


def iter_reaching(
    spec: Mapping[str, Option], options: Mapping[str, Any], reach: Reach, prefix: str = ""
) -> Iterator[tuple[str, Any]]:
    """(dotted option name, value) of every option set in validated ``options`` that reaches ``reach``."""
    for name, option in spec.items():
        value = options.get(name)
        if value is None:
            continue
        if option.reaches is reach:
            yield prefix + name, value
        elif option.fields is not None and isinstance(value, Mapping):
            yield from iter_reaching(option.fields, value, reach, f"{prefix}{name}.")


def host_port(value: str) -> str:
    """``host[:port]`` of an option that reaches a host, written as ``host:port`` or as a URL
    (``https://host:port/path``); IPv6 literals keep their brackets."""
    text = value.strip()
    netloc = urlsplit(text).netloc if "://" in text else text.split("/", 1)[0]
    return netloc.rpartition("@")[2]  # never a userinfo part
