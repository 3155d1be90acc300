"""The operator's policy: what a plugin configuration may make the plugin do.

A configuration is written by any workflow author; the policy is written by the
operator (a YAML file, mounted read-only, named by ``ARGO_ARTIFACT_DRIVER_POLICY``)::

    schemes: [s3, gcs, azure, fsspec, fallback]   # default: every installed scheme but file
    endpoints: ["minio.argo.svc:9000", "*.amazonaws.com"]   # default: any the address rules allow
    file: {roots: [/mnt/artifacts]}               # default: none (so scheme file is refused)
    fsspec: {protocols: [sftp, ftp]}              # default: protocols that reach one remote system
    secrets:                                       # default: any secret in a workflow pod, none in the server
      - {name: my-minio-cred, endpoints: ["minio.argo.svc:9000"]}

Every configured store, composite parts included, is checked once, when it is built,
against what its backend says it reaches (:meth:`~.backend.Backend.endpoints`,
:meth:`~.backend.Backend.local_paths`, :meth:`~.backend.Backend.fsspec_protocols`,
:meth:`~.backend.Backend.secret_options`) - after its options are validated and before
anything is resolved, connected or opened. A refusal is :class:`~.errors.RefusedByPolicy`,
whose message names the rule. The docs' security page is the reference for every key.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from .composite import Composite
from .config import load_yaml
from .errors import RefusedByPolicy
from .netguard import GUARD, Endpoint, EndpointError, EndpointPattern, Resolver, judge
from .secrets import secret_name_problem
from .units import KiB

if TYPE_CHECKING:
    from .backend import Backend

#: The role of a plugin in a workflow pod (the workflow's own service account).
ROLE_POD = "pod"
#: The role of the plugin in the argo-server sidecar (the server's service account).
ROLE_SERVER = "server"
ROLES = (ROLE_POD, ROLE_SERVER)

#: fsspec protocols allowed by default: each reaches one remote system named by its
#: options (a host), and none opens local paths or wraps another filesystem. An allow
#: list: a protocol installed later is refused until the operator lists it.
DEFAULT_FSSPEC_PROTOCOLS = frozenset({"sftp", "ssh", "ftp", "smb", "webdav", "dav"})
#: Protocols that read or write local files, or wrap another filesystem (which may be
#: local): ``argo-artifacts policy check`` warns when a policy allows one.
LOCAL_OR_WRAPPING_PROTOCOLS = frozenset({
    "file", "local", "memory", "dir", "reference", "zip", "tar", "libarchive", "simplecache", "filecache",
    "blockcache", "cached", "generic", "data", "jlab", "jupyter", "arrow_hdfs", "hdfs", "http", "https",
})
#: Largest policy file accepted.
MAX_POLICY_BYTES = 256 * KiB

_KEYS = {
    "schemes": "list of schemes",
    "endpoints": "list of host[:port] patterns",
    "file": "mapping with 'roots'",
    "fsspec": "mapping with 'protocols'",
    "secrets": "list of {name, endpoints}",
}
_FILE_KEYS = {"roots": "list of absolute paths"}
_FSSPEC_KEYS = {"protocols": "list of fsspec protocol names"}
_SECRET_KEYS = {"name": "a Kubernetes secret name", "endpoints": "list of host[:port] patterns"}


class PolicyError(ValueError):
    """A policy file that cannot be used; the message is one line naming the file."""


@dataclass(frozen=True)
class SecretRule:
    """A secret configurations may name, and the endpoints its values may be sent to."""

    name: str
    endpoints: tuple[EndpointPattern, ...]

    def allows(self, endpoint: Endpoint) -> bool:
        return any(pattern.matches(endpoint) for pattern in self.endpoints)


@dataclass(frozen=True)
class Policy:
    """What configurations may do. ``None`` for a rule means its default (see the module)."""

    role: str = ROLE_POD
    schemes: frozenset[str] | None = None
    endpoints: tuple[EndpointPattern, ...] | None = None
    file_roots: tuple[str, ...] = ()
    fsspec_protocols: frozenset[str] = DEFAULT_FSSPEC_PROTOCOLS
    secrets: tuple[SecretRule, ...] | None = None
    source: str = "the default policy"
    #: resolves names for the address rules (tests pass a fake one)
    resolve: Resolver | None = field(default=None, compare=False, repr=False)

    # -- loading -------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | None, role: str = ROLE_POD) -> "Policy":
        """The policy in the file ``path``, or the default policy when ``path`` is empty.

        Raises :class:`PolicyError` (one line) for a file that is missing, unreadable or
        invalid: a plugin must never run with less policy than its operator wrote."""
        if role not in ROLES:
            raise PolicyError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
        if not path:
            return cls(role=role)
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read(MAX_POLICY_BYTES + 1)
        except OSError as exc:
            raise PolicyError(f"policy file {path}: cannot read it ({exc.strerror or exc})") from None
        except UnicodeDecodeError:
            raise PolicyError(f"policy file {path}: not UTF-8 text") from None
        return cls.from_text(text, role=role, source=f"policy file {path}")

    @classmethod
    def from_text(cls, text: str, role: str = ROLE_POD, source: str = "policy") -> "Policy":
        """Parse and validate policy YAML; raise :class:`PolicyError` naming every problem."""
        data = load_yaml(text, source, MAX_POLICY_BYTES, PolicyError)
        if data is None:
            data = {}
        problems: list[str] = []
        if not isinstance(data, Mapping):
            raise PolicyError(f"{source}: must be a mapping of rules ({', '.join(_KEYS)}), got {type(data).__name__}")
        _unknown_keys(data, _KEYS, "", problems)
        schemes = _string_list(data, "schemes", problems)
        endpoints = _patterns(data.get("endpoints"), "endpoints", problems) if "endpoints" in data else None
        file_section = _section(data, "file", _FILE_KEYS, problems)
        roots = _roots(file_section.get("roots"), problems)
        fsspec_section = _section(data, "fsspec", _FSSPEC_KEYS, problems)
        protocols = _string_list(fsspec_section, "protocols", problems, prefix="fsspec.")
        secrets = _secret_rules(data["secrets"], problems) if "secrets" in data else None
        if problems:
            raise PolicyError(f"{source}: " + "; ".join(problems))
        return cls(
            role=role,
            schemes=None if schemes is None else frozenset(schemes),
            endpoints=endpoints,
            file_roots=roots,
            fsspec_protocols=DEFAULT_FSSPEC_PROTOCOLS if protocols is None else frozenset(protocols),
            secrets=secrets,
            source=source,
        )

    # -- checking a configured backend ---------------------------------------------------

    def admit(self, backend: "Backend | Composite") -> None:
        """Check ``backend`` (see :meth:`check`), then guard the names it reaches for as
        long as it lives, so their later resolutions are judged again (DNS rebinding)."""
        names = self.check(backend)
        GUARD.install()
        GUARD.hold(backend, names)

    def check(self, backend: "Backend | Composite") -> list[tuple[str, bool]]:
        """Raise :class:`RefusedByPolicy` naming the first rule ``backend`` breaks.

        Returns the host names it reaches, each with whether the operator listed it
        exactly (trusted), for :meth:`admit`. Resolves names (DNS), reads no file and
        resolves no secret. A composite (``fallback``) is checked for its scheme here; each
        of its parts is built, and checked, as a configuration of its own."""
        self._check_scheme(backend.scheme)
        if isinstance(backend, Composite):
            return []
        for protocol in backend.fsspec_protocols():
            if protocol not in self.fsspec_protocols:
                raise RefusedByPolicy(
                    f"fsspec protocol '{protocol}' is not allowed (allowed: {_listing(self.fsspec_protocols)})",
                    "fsspec.protocols",
                )
        for path in backend.local_paths():
            self._check_local_path(path)
        endpoints = self._endpoints_of(backend)
        names = [self._check_endpoint(endpoint) for endpoint in endpoints]
        self._check_secrets(backend, endpoints)
        return [name for name in names if name is not None]

    def _check_scheme(self, scheme: str) -> None:
        if self.schemes is None:
            if scheme == "file":
                raise RefusedByPolicy(
                    "scheme 'file' is off unless the operator's policy allows it (with file.roots)", "schemes"
                )
            return
        if scheme not in self.schemes:
            raise RefusedByPolicy(f"scheme '{scheme}' is not allowed (allowed: {_listing(self.schemes)})", "schemes")

    def _check_local_path(self, path: str) -> None:
        real = os.path.realpath(os.path.abspath(path))
        for root in self.file_roots:
            real_root = os.path.realpath(root)
            if real == real_root or real.startswith(real_root.rstrip("/") + "/"):
                return
        allowed = ", ".join(self.file_roots) if self.file_roots else "none"
        shown = path if real == os.path.normpath(path) else f"{path} (which is {real})"
        raise RefusedByPolicy(f"local path {shown} is not inside an allowed root (allowed: {allowed})", "file.roots")

    @staticmethod
    def _endpoints_of(backend: "Backend") -> list[Endpoint]:
        endpoints = []
        for text in backend.endpoints():
            try:
                endpoints.append(Endpoint.parse(text))
            except EndpointError as exc:
                raise RefusedByPolicy(f"endpoint {exc}", "endpoints") from None
        return endpoints

    def _check_endpoint(self, endpoint: Endpoint) -> tuple[str, bool] | None:
        """Refuse ``endpoint`` or return (its host name, trusted) for the guard."""
        trusted = False
        if self.endpoints is not None:
            matching = [p for p in self.endpoints if p.matches(endpoint)]
            if not matching:
                listed = ", ".join(p.text for p in self.endpoints) or "none"
                raise RefusedByPolicy(f"endpoint {endpoint} is not listed (allowed: {listed})", "endpoints")
            trusted = any(p.exact for p in matching)
        if not trusted:
            refusal = judge(endpoint, self.resolve)
            if refusal is not None:
                raise RefusedByPolicy(str(refusal), "endpoints")
        return None if endpoint.address is not None else (endpoint.host, trusted)

    def _check_secrets(self, backend: "Backend", endpoints: list[Endpoint]) -> None:
        for option, ref in backend.secret_options():
            if self.secrets is None:
                if self.role == ROLE_SERVER:
                    raise RefusedByPolicy(
                        f"'{option}' names secret '{ref.name}', and this plugin (role server) resolves no secret "
                        "the policy does not list",
                        "secrets",
                    )
                continue
            rule = next((r for r in self.secrets if r.name == ref.name), None)
            if rule is None:
                raise RefusedByPolicy(f"'{option}' names secret '{ref.name}', which is not listed", "secrets")
            for endpoint in endpoints:
                if not rule.allows(endpoint):
                    raise RefusedByPolicy(f"secret '{ref.name}' may not be sent to {endpoint}", "secrets")

    # -- reporting -----------------------------------------------------------------------

    def describe(self) -> list[str]:
        """One line per rule, as it applies (defaults spelled out)."""
        schemes = "every installed scheme but file" if self.schemes is None else _listing(self.schemes)
        if self.endpoints is None:
            endpoints = "any, except loopback, link-local, metadata and other non-storage addresses"
        else:
            endpoints = ", ".join(p.text for p in self.endpoints) or "none"
        if self.secrets is None:
            secrets = ("none (role server)" if self.role == ROLE_SERVER
                       else "any the pod can read, to any allowed endpoint")
        else:
            secrets = "; ".join(f"{r.name} -> {', '.join(p.text for p in r.endpoints)}" for r in self.secrets) or "none"
        return [
            f"source: {self.source} (role {self.role})",
            f"schemes: {schemes}",
            f"endpoints: {endpoints}",
            f"file.roots: {', '.join(self.file_roots) or 'none'}",
            f"fsspec.protocols: {_listing(self.fsspec_protocols)}",
            f"secrets: {secrets}",
        ]

    def warnings(self, installed_schemes: Iterable[str] = ()) -> list[str]:
        """What in this policy is probably not what its author meant (for ``policy check``)."""
        notes = []
        installed = set(installed_schemes)
        if self.schemes is not None and installed:
            for scheme in sorted(self.schemes - installed):
                notes.append(f"scheme '{scheme}' is not installed here")
        if "file" in (self.schemes or ()) and not self.file_roots:
            notes.append("scheme 'file' is allowed but file.roots is empty, so every file configuration is refused")
        for protocol in sorted(self.fsspec_protocols & LOCAL_OR_WRAPPING_PROTOCOLS):
            notes.append(f"fsspec protocol '{protocol}' opens local paths, wraps another filesystem or fetches any URL")
        for root in self.file_roots:
            if root == "/":
                notes.append("file.roots lists '/': every local file the plugin can read is reachable")
        for pattern in self.endpoints or ():
            if pattern.host in ("*", "*.*"):
                notes.append(f"endpoint pattern {pattern.text!r} matches every host")
        return notes


# -- validation helpers (each appends one phrase per problem) ------------------------


def _unknown_keys(data: Mapping, known: Mapping[str, str], prefix: str, problems: list[str]) -> None:
    for key in data:
        if key in known:
            continue
        close = difflib.get_close_matches(str(key), list(known), n=1, cutoff=0.6)
        hint = f"did you mean '{prefix}{close[0]}'?" if close else f"known keys: {', '.join(prefix + k for k in known)}"
        problems.append(f"unknown key '{prefix}{key}' ({hint})")


def _section(data: Mapping, name: str, known: Mapping[str, str], problems: list[str]) -> Mapping:
    value = data.get(name)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        problems.append(f"'{name}' must be a {_KEYS[name]}, got {type(value).__name__}")
        return {}
    _unknown_keys(value, known, f"{name}.", problems)
    return value


def _string_list(data: Mapping, name: str, problems: list[str], prefix: str = "") -> list[str] | None:
    if name not in data or data[name] is None:
        return None
    value = data[name]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        problems.append(f"'{prefix}{name}' must be a list of names, like [s3, gcs]")
        return None
    return [v.strip() for v in value]


def _patterns(value: Any, where: str, problems: list[str]) -> tuple[EndpointPattern, ...]:
    if not isinstance(value, list):
        problems.append(f"'{where}' must be a list of host[:port] patterns, like [\"minio.argo.svc:9000\"]")
        return ()
    patterns = []
    for item in value:
        try:
            patterns.append(EndpointPattern.parse(str(item)))
        except EndpointError as exc:
            problems.append(f"'{where}': {exc}")
    return tuple(patterns)


def _roots(value: Any, problems: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append("'file.roots' must be a list of absolute paths")
        return ()
    roots = []
    for root in value:
        if not os.path.isabs(root):
            problems.append(f"'file.roots': {root!r} is not an absolute path")
        else:
            roots.append(os.path.normpath(root))
    return tuple(roots)


def _secret_rules(value: Any, problems: list[str]) -> tuple[SecretRule, ...]:
    if not isinstance(value, list):
        problems.append("'secrets' must be a list of {name, endpoints}")
        return ()
    rules: dict[str, SecretRule] = {}
    for i, item in enumerate(value):
        where = f"secrets[{i}]"
        if not isinstance(item, Mapping):
            problems.append(f"'{where}' must be a mapping {{name, endpoints}}")
            continue
        _unknown_keys(item, _SECRET_KEYS, f"{where}.", problems)
        name = item.get("name")
        problem = secret_name_problem(name) if isinstance(name, str) else "is required (a Kubernetes secret name)"
        if problem:
            problems.append(f"'{where}.name' {problem}")
            continue
        if "endpoints" not in item:
            problems.append(f"'{where}.endpoints' is required: where secret '{name}' may be sent")
            continue
        if name in rules:
            problems.append(f"secret '{name}' is listed twice")
            continue
        rules[name] = SecretRule(name, _patterns(item["endpoints"], f"{where}.endpoints", problems))
    return tuple(rules.values())


def _listing(names: Iterable[str]) -> str:
    return ", ".join(sorted(names)) or "none"
