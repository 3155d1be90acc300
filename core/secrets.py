"""Secret references ``{name, key}``, resolved the way a Kubernetes pod can see them.

Argo's repository fields name secrets (``accessKeySecret: {name: my-cred, key: accesskey}``)
rather than carry values, so a workflow never holds a credential. The plugin resolves a
reference in this order:

1. a **mounted directory**: ``<dir>/<name>/<key>``, the shape of a Kubernetes secret
   volume (setting ``secrets_dir``, default ``/var/run/secrets/argo-artifact-driver``);
2. the **Kubernetes API**, with the pod's service account: one
   ``GET /api/v1/namespaces/NS/secrets/NAME``, ``data[key]`` base64-decoded.

Resolved values are cached for a short, bounded time (setting ``secrets_ttl_seconds``,
default 60) so a rotated secret is picked up without a restart. Errors name the secret and
the key and never carry a value. Only the standard library is used (urllib + ssl): one GET
does not justify the Kubernetes client and its dependencies on the start-up path.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from .errors import ArtifactError, PermissionDenied, SecretUnavailable
from .settings import Settings, env_name

API_TIMEOUT_SECONDS = 10.0

MOUNTED = "mounted file"
KUBERNETES = "Kubernetes API"

#: A Kubernetes object name (DNS-1123 subdomain) and a secret's data key, as the API
#: server validates them: nothing else can name a secret, and nothing else ('#', '/',
#: '?', '%') ever reaches a path or a URL.
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_SECRET_KEY = re.compile(r"[-._a-zA-Z0-9]+")
_MAX_NAME = 253


def secret_name_problem(name: str) -> str | None:
    """What is wrong with ``name`` as a Kubernetes secret name, or None."""
    if len(name) > _MAX_NAME or not _DNS1123_SUBDOMAIN.fullmatch(name):
        return ("is not a Kubernetes secret name (lower-case letters, digits, '-' and '.', "
                f"starting and ending with a letter or digit, at most {_MAX_NAME} characters)")
    return None


def secret_key_problem(key: str) -> str | None:
    """What is wrong with ``key`` as a key of a Kubernetes secret, or None."""
    if len(key) > _MAX_NAME or not _SECRET_KEY.fullmatch(key) or key in (".", ".."):
        return f"is not a Kubernetes secret key (letters, digits, '-', '_' and '.', at most {_MAX_NAME} characters)"
    return None


@dataclass(frozen=True)
class SecretRef:
    """A reference to one key of one Kubernetes secret, as Argo writes it."""

    name: str
    key: str

    def __str__(self) -> str:
        return f"secret '{self.name}' key '{self.key}'"

    @classmethod
    def from_mapping(cls, value: Mapping[str, Any]) -> "SecretRef":
        return cls(name=str(value["name"]), key=str(value["key"]))


@dataclass(frozen=True)
class Resolved:
    """A secret value and where it came from. ``repr`` never shows the value."""

    value: bytes
    source: str
    location: str

    def __repr__(self) -> str:
        return f"Resolved(source={self.source!r}, location={self.location!r}, value=<{len(self.value)} bytes>)"

    def text(self) -> str:
        """The value as text, without the surrounding whitespace a file editor may add."""
        try:
            return self.value.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise SecretUnavailable(f"the value at {self.location} is not UTF-8 text") from None


class KubernetesSecrets:
    """Reads secrets from the Kubernetes API with the pod's service account.

    The token is read on every request: projected service-account tokens rotate.
    """

    def __init__(self, base_url: str, account_dir: str, namespace: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.account_dir = account_dir
        self._namespace = namespace
        self._context: ssl.SSLContext | None = None

    @classmethod
    def from_settings(cls, settings: Settings, environ: Mapping[str, str] | None = None) -> "KubernetesSecrets | None":
        """The in-cluster API (found as Kubernetes tells every pod: ``KUBERNETES_SERVICE_HOST``
        and ``_PORT``), or None when this process does not run in a pod."""
        env = os.environ if environ is None else environ
        host = env.get("KUBERNETES_SERVICE_HOST")
        account_dir = settings.serviceaccount_dir
        if not host or not os.path.exists(os.path.join(account_dir, "token")):
            return None
        port = env.get("KUBERNETES_SERVICE_PORT", "443")
        if ":" in host and not host.startswith("["):  # an IPv6 address
            host = f"[{host}]"
        return cls(f"https://{host}:{port}", account_dir, settings.namespace or None)

    @property
    def namespace(self) -> str:
        if self._namespace is None:
            self._namespace = _read_file(os.path.join(self.account_dir, "namespace")).decode().strip()
        return self._namespace

    def describe(self) -> str:
        return f"{self.base_url} (namespace '{self.namespace}')"

    def get(self, ref: SecretRef) -> bytes:
        """``data[key]`` of the secret, decoded; raise :class:`SecretUnavailable` otherwise."""
        where = f"{ref} in namespace '{self.namespace}' (Kubernetes API {self.base_url})"
        data = self._secret_data(ref.name, where)
        if ref.key not in data:  # its other keys are not named: they are not this configuration's
            raise SecretUnavailable(f"{where}: the secret has no key '{ref.key}'")
        try:
            return base64.b64decode(data[ref.key], validate=True)
        except (binascii.Error, TypeError):
            raise SecretUnavailable(f"{where}: the API returned data that is not base64") from None

    def _secret_data(self, name: str, where: str) -> Mapping[str, str]:
        token = _read_file(os.path.join(self.account_dir, "token")).decode().strip()
        quoted = urllib.parse.quote  # names are validated; quoting keeps any other text out of the path
        url = f"{self.base_url}/api/v1/namespaces/{quoted(self.namespace, safe='')}/secrets/{quoted(name, safe='')}"
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=API_TIMEOUT_SECONDS, context=self._ssl_context()) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise _http_error(exc.code, where) from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise SecretUnavailable(f"{where}: cannot read it ({type(exc).__name__}: {reason})") from None
        data = body.get("data") if isinstance(body, dict) else None
        return data if isinstance(data, dict) else {}

    def _ssl_context(self) -> ssl.SSLContext:
        if self._context is None:
            self._context = ssl.create_default_context(cafile=os.path.join(self.account_dir, "ca.crt"))
        return self._context


def _http_error(status: int, where: str) -> ArtifactError:
    if status == 404:
        return SecretUnavailable(f"{where}: no such secret")
    if status in (401, 403):
        return PermissionDenied(
            f"{where}: the pod's service account may not read it (HTTP {status}); grant it 'get' on "
            "secrets with a Role and RoleBinding (see examples/rbac.yaml), or mount the secret "
            "into the plugin container"
        )
    return SecretUnavailable(f"{where}: the API answered HTTP {status}")


def _read_file(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


class SecretResolver:
    """Resolves :class:`SecretRef` values: mounted directory first, then the Kubernetes API."""

    def __init__(
        self,
        secrets_dir: str = Settings.secrets_dir,
        kubernetes: KubernetesSecrets | None = None,
        ttl_seconds: float = Settings.secrets_ttl_seconds,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.secrets_dir = secrets_dir
        self.kubernetes = kubernetes
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._cache: dict[SecretRef, tuple[float, Resolved]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, environ: Mapping[str, str] | None = None) -> "SecretResolver":
        """The resolver ``settings`` describe (``environ``: where to find the Kubernetes API)."""
        kubernetes = KubernetesSecrets.from_settings(settings, environ)
        return cls(settings.secrets_dir, kubernetes, settings.secrets_ttl_seconds)

    def resolve(self, ref: SecretRef) -> Resolved:
        """The current value of ``ref``; cached for ``ttl_seconds``."""
        now = self._clock()
        with self._lock:
            hit = self._cache.get(ref)
        if hit is not None and hit[0] > now:
            return hit[1]
        resolved = self._lookup(ref)
        with self._lock:
            self._cache[ref] = (now + self.ttl_seconds, resolved)
        return resolved

    def _lookup(self, ref: SecretRef) -> Resolved:
        _check_name(ref)
        path = os.path.join(self.secrets_dir, ref.name, ref.key)
        try:
            return Resolved(_read_file(path), MOUNTED, path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise SecretUnavailable(f"{ref}: cannot read the mounted file {path} ({exc.strerror})") from None
        if self.kubernetes is None:
            raise SecretUnavailable(
                f"{ref} not found: no file {path}, and no Kubernetes API to ask (not running in a pod "
                f"with a service-account token); mount the secret under {self.secrets_dir}/{ref.name}/ "
                f"or set {env_name('secrets_dir')}"
            )
        value = self.kubernetes.get(ref)
        return Resolved(value, KUBERNETES, f"{ref} via {self.kubernetes.describe()}")


def _check_name(ref: SecretRef) -> None:
    # Names become a path and a URL: only what Kubernetes itself accepts (options are
    # validated the same way; this guards every other caller).
    for what, problem in (("name", secret_name_problem(ref.name)), ("key", secret_key_problem(ref.key))):
        if problem:
            raise SecretUnavailable(f"{ref}: the {what} {problem}")
