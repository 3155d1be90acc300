"""Which network addresses a configuration may make the plugin reach.

A configuration names servers (an S3 ``endpoint``, an SFTP ``host``...). Written by any
workflow author, it must not point the plugin at the pod itself (loopback), at the node's
cloud metadata service (link-local ``169.254.169.254``, which hands out the node's
credentials), or at other addresses that are never storage. This module judges an
address, and makes that judgement hold **on the address actually connected to**:

* a literal address is judged in every spelling the C library accepts (``127.1``,
  ``2130706433``, ``0x7f.0.0.1``, ``017700000001``, ``[::ffff:127.0.0.1]``, 6to4 and
  NAT64 forms of an IPv4 address...), since that is what ``connect`` would use;
* a name is resolved and every address it resolves to is judged; then the name is
  *held* by the :class:`ResolutionGuard`, which re-judges every later resolution of
  that name (and of its sub-domains: S3's virtual-host style adds the bucket in front)
  inside ``socket.getaddrinfo`` and returns only the addresses that pass. Every client
  the plugin's backends use resolves through ``socket.getaddrinfo`` (aiohttp's threaded
  resolver, asyncssh, ftplib, urllib3, httpx), so a name that changes its answer after
  the check (DNS rebinding) still never gets a forbidden address to the SDK. Names the
  configuration never named (an SDK fetching its own credentials from
  ``metadata.google.internal``) are not touched.

What this does not reach: an HTTP(S) proxy resolves names itself, so with
``HTTPS_PROXY`` set the egress rule must be enforced at the proxy; and a server that the
configuration names may answer with a redirect to a literal address, which no resolver
sees (the backends that follow redirects turn that off where their SDK allows it).
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
import socket
import threading
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Iterable
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Cloud metadata and credential services, whichever range they sit in (AWS IMDS and its
#: IPv6 form, ECS and EKS pod-identity agents, Alibaba Cloud). GCP and Azure use
#: 169.254.169.254 too.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "169.254.170.23", "fd00:ec2::254", "fd00:ec2::23", "100.100.100.200")
)
#: Names of metadata services, refused even where they do not resolve (GKE, GCE, EC2).
METADATA_NAMES = frozenset({"metadata.google.internal", "metadata", "instance-data", "instance-data.ec2.internal"})

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")
#: A host name as DNS and the C library accept it (IDNA names arrive encoded). Anything
#: else (spaces, '@', '#', '%', '/') is refused before it reaches a URL.
_HOST_NAME = re.compile(r"^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?$")
_DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21, "sftp": 22, "ssh": 22}


class EndpointError(ValueError):
    """An endpoint text that is not ``host[:port]`` or a URL with a host."""


@dataclass(frozen=True)
class Endpoint:
    """A server a configuration names: a host (a name, lower case, or an address in its
    canonical form) and a port when one is known."""

    host: str
    port: int | None = None

    @classmethod
    def parse(cls, text: str) -> "Endpoint":
        """``host``, ``host:port``, ``[v6]:port`` or a URL (``https://host:port/path``)."""
        raw = str(text).strip()
        default_port = None
        if "://" in raw:
            parts = urlsplit(raw)
            default_port = _DEFAULT_PORTS.get(parts.scheme.lower())
            netloc = parts.netloc
        else:
            netloc = raw.split("/", 1)[0]
        netloc = netloc.rpartition("@")[2]  # never a userinfo part
        host, port = _split_host_port(netloc, raw)
        if port is None:
            port = default_port
        address = parse_address(host)
        if address is not None:
            return cls(str(address), port)
        name = host.lower()
        if not _HOST_NAME.match(name):
            raise EndpointError(f"{raw!r} does not name a host")
        return cls(name.rstrip("."), port)

    @property
    def address(self) -> IPAddress | None:
        return parse_address(self.host)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port is None else f"{host}:{self.port}"


def _split_host_port(netloc: str, raw: str) -> tuple[str, int | None]:
    if netloc.startswith("["):
        host, _, rest = netloc[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else None
        if rest and port_text is None:
            raise EndpointError(f"{raw!r} does not name a host")
    elif netloc.count(":") == 1:
        host, port_text = netloc.split(":")
    else:  # no port, or a bare IPv6 address
        host, port_text = netloc, None
    if not host:
        raise EndpointError(f"{raw!r} does not name a host")
    if port_text is None or port_text == "":
        return host, None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise EndpointError(f"{raw!r} has no valid port")
    return host, int(port_text)


def parse_address(text: str) -> IPAddress | None:
    """The address ``text`` stands for when it is a literal in any spelling ``connect``
    or ``getaddrinfo`` accepts, else None (a name)."""
    host = text.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    host = host.split("%", 1)[0]  # an IPv6 zone (fe80::1%eth0) does not change the address
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    # The C library's legacy IPv4 forms: 127.1, 2130706433, 0x7f.1, 0177.0.0.1. Only
    # characters of such a form, so inet_aton's tolerance of trailing text never applies.
    if host and re.fullmatch(r"[0-9a-fA-FxX.]+", host) and not host.endswith("."):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, 6to4, NAT64, Teredo)."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    packed = int(address)
    if packed >> 32 == 0 and packed > 1:  # IPv4-compatible ::a.b.c.d (not :: or ::1)
        return ipaddress.IPv4Address(packed)
    return None


def forbidden_reason(address: IPAddress) -> str | None:
    """Why a configuration may not make the plugin connect to ``address``, or None.

    Private ranges (10/8, 172.16/12, 192.168/16, fc00::/7) are allowed: in-cluster
    storage (MinIO on a Service address) lives there."""
    inner = embedded_ipv4(address)
    if inner is not None:
        reason = forbidden_reason(inner)
        return f"{reason} (as {address})" if reason else None
    if address in METADATA_ADDRESSES:
        return "link-local (a cloud metadata address)" if address.is_link_local else "a cloud metadata address"
    if address.is_unspecified or (isinstance(address, ipaddress.IPv4Address) and address in _THIS_NETWORK):
        return "unspecified (it reaches this host)"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if isinstance(address, ipaddress.IPv4Address) and address == ipaddress.IPv4Address("255.255.255.255"):
        return "broadcast"
    if address.is_reserved:
        return "reserved"
    return None


# -- matching endpoints against the operator's patterns -------------------------------


@dataclass(frozen=True)
class EndpointPattern:
    """One entry of a policy's endpoint list: ``host[:port]`` where the host may hold
    glob characters (``*.amazonaws.com``). An entry without glob characters is *exact*:
    the operator named that server, so it is trusted to be what it is, loopback included."""

    text: str
    host: str
    port: int | None

    @classmethod
    def parse(cls, text: str) -> "EndpointPattern":
        raw = str(text).strip()
        if not raw:
            raise EndpointError("an empty endpoint pattern")
        if any(c in raw for c in "*?["):
            host, port = _split_host_port(raw, raw)
            if not re.fullmatch(r"[a-z0-9_.*?\[\]!:-]+", host.lower()):
                raise EndpointError(f"{raw!r} is not a host[:port] pattern")
            return cls(raw, host.lower(), port)
        endpoint = Endpoint.parse(raw)
        return cls(raw, endpoint.host, endpoint.port)

    @property
    def exact(self) -> bool:
        return not any(c in self.host for c in "*?[")

    def matches(self, endpoint: Endpoint) -> bool:
        if self.port is not None and endpoint.port != self.port:
            return False
        if self.exact:
            return self.host == endpoint.host
        return fnmatch.fnmatchcase(endpoint.host, self.host)


# -- judging one endpoint ---------------------------------------------------------------

Resolver = Callable[..., list]


@dataclass(frozen=True)
class Refusal:
    """Why an endpoint may not be reached: what was judged and the rule's words."""

    what: str

    def __str__(self) -> str:
        return self.what


def judge(endpoint: Endpoint, resolve: Resolver | None = None) -> Refusal | None:
    """Apply the address rules to ``endpoint``: its literal address, or every address its
    name resolves to now. A name that does not resolve passes (it reaches nothing now;
    the guard judges its later resolutions)."""
    address = endpoint.address
    if address is not None:
        reason = forbidden_reason(address)
        return Refusal(f"endpoint {endpoint} is {reason}") if reason else None
    if endpoint.host in METADATA_NAMES or endpoint.host.endswith(".metadata.google.internal"):
        return Refusal(f"endpoint {endpoint} is a cloud metadata service")
    for resolved in resolved_addresses(endpoint.host, endpoint.port, resolve or GUARD.original_getaddrinfo):
        reason = forbidden_reason(resolved)
        if reason:
            return Refusal(f"endpoint {endpoint} resolves to {resolved}, which is {reason}")
    return None


def resolved_addresses(host: str, port: int | None, resolve: Resolver) -> list[IPAddress]:
    """Every address ``host`` resolves to (empty when it does not resolve)."""
    try:
        infos = resolve(host, port or 0, 0, socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    found = []
    for info in infos:
        address = parse_address(str(info[4][0]))
        if address is not None and address not in found:
            found.append(address)
    return found


# -- the guard on every later resolution --------------------------------------------


class ResolutionGuard:
    """Wraps ``socket.getaddrinfo`` so that names a configuration named are judged again
    on every resolution, and only addresses that pass are returned.

    A name is held while a configured store that names it is alive (:meth:`hold`; the
    hold ends when the store is garbage collected), so the set of guarded names is
    bounded by the plugin's store cache. A name the operator listed exactly is held as
    *trusted* and passes unfiltered."""

    def __init__(self, original: Resolver | None = None) -> None:
        self.original_getaddrinfo: Resolver = original or socket.getaddrinfo
        self._held: dict[str, list[int]] = {}  # name -> [untrusted holds, trusted holds]
        self._lock = threading.Lock()

    def install(self) -> None:
        """Put the guard in front of ``socket.getaddrinfo`` (once per process)."""
        with self._lock:
            if not self.installed:  # (a bound method is a new object on each access: ==, not is)
                self.original_getaddrinfo = socket.getaddrinfo
                socket.getaddrinfo = self.getaddrinfo

    @property
    def installed(self) -> bool:
        return socket.getaddrinfo == self.getaddrinfo

    def hold(self, owner: object, names: Iterable[tuple[str, bool]]) -> None:
        """Guard ``names`` ((name, trusted) pairs) for as long as ``owner`` lives."""
        entries = [(name.lower().rstrip("."), bool(trusted)) for name, trusted in names if parse_address(name) is None]
        if not entries:
            return
        with self._lock:
            for name, trusted in entries:
                self._held.setdefault(name, [0, 0])[trusted] += 1
        weakref.finalize(owner, self._release, entries)

    def _release(self, entries: list[tuple[str, bool]]) -> None:
        with self._lock:
            for name, trusted in entries:
                counts = self._held.get(name)
                if counts is None:
                    continue
                counts[trusted] -= 1
                if counts == [0, 0]:
                    del self._held[name]

    def held_names(self) -> dict[str, bool]:
        """Guarded names and whether each is trusted (for tests and diagnostics)."""
        with self._lock:
            return {name: counts[1] > 0 for name, counts in self._held.items()}

    def _rule(self, host: Any) -> tuple[str, bool] | None:
        """(held name, trusted) covering ``host``: the name itself or a parent domain."""
        if isinstance(host, bytes):
            host = host.decode("ascii", "replace")
        if not isinstance(host, str) or not host:
            return None
        name = host.lower().rstrip(".")
        if name in METADATA_NAMES:  # an SDK's own credential service: a configuration never holds it
            return None
        with self._lock:
            if not self._held:
                return None
            while True:
                counts = self._held.get(name)
                if counts is not None:
                    return name, counts[1] > 0
                if "." not in name:
                    return None
                name = name.split(".", 1)[1]

    def getaddrinfo(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> list:
        results = self.original_getaddrinfo(host, port, *args, **kwargs)
        rule = self._rule(host)
        if rule is None or rule[1]:
            return results
        kept, refused = [], None
        for info in results:
            address = parse_address(str(info[4][0]))
            reason = forbidden_reason(address) if address is not None else None
            if reason:
                refused = refused or f"{address}, which is {reason}"
            else:
                kept.append(info)
        if not kept and refused:
            raise socket.gaierror(
                socket.EAI_NONAME, f"refused by policy: {host} resolved to {refused} (rule 'endpoints')"
            )
        return kept


#: The one guard of this process (``socket.getaddrinfo`` is process-wide).
GUARD = ResolutionGuard()
