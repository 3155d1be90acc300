"""The address rules and the resolution guard (core/netguard.py), in process.

Property-based tests write one address in every spelling the C library accepts and
check that each is judged like the canonical one; names that resolve to loopback come
from this machine's /etc/hosts. The guard is tested with a resolver the test controls,
which is how DNS rebinding looks from inside the process (first a public answer, then
loopback).
"""

from __future__ import annotations

import ipaddress
import socket

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from argo_artifact_driver.core.netguard import (
    Endpoint,
    EndpointError,
    EndpointPattern,
    ResolutionGuard,
    forbidden_reason,
    judge,
    parse_address,
)

# -- spellings of one IPv4 address ---------------------------------------------------


def spellings(address: ipaddress.IPv4Address) -> list[str]:
    """Every form inet_aton/getaddrinfo accept for ``address``."""
    n = int(address)
    a, b, c, d = address.packed
    return [
        str(address),
        str(n),  # 2130706433
        hex(n),  # 0x7f000001
        "0" + oct(n)[2:],  # 017700000001
        f"{a}.{(b << 16) | (c << 8) | d}",  # 127.1 style (a.b24)
        f"{a}.{b}.{(c << 8) | d}",  # a.b.c16
        f"{hex(a)}.{hex(b)}.{hex(c)}.{hex(d)}",  # 0x7f.0x0.0x0.0x1
        f"0{oct(a)[2:]}.{b}.{c}.{d}",  # 0177.0.0.1
        f"[::ffff:{address}]",  # IPv4-mapped IPv6
        f"::ffff:{a * 256 + b:x}:{c * 256 + d:x}",  # mapped, hex groups
        f"64:ff9b::{address}",  # NAT64
        f"2002:{a * 256 + b:x}:{c * 256 + d:x}::1",  # 6to4
    ]


ipv4 = st.builds(ipaddress.IPv4Address, st.integers(min_value=0, max_value=2**32 - 1))
loopback4 = st.builds(lambda n: ipaddress.IPv4Address((127 << 24) | n), st.integers(0, 2**24 - 1))
link_local4 = st.builds(lambda n: ipaddress.IPv4Address((169 << 24) | (254 << 16) | n), st.integers(0, 2**16 - 1))


@given(ipv4)
def test_every_spelling_of_an_ipv4_address_is_that_address(address: ipaddress.IPv4Address) -> None:
    for text in spellings(address)[:8]:
        assert parse_address(text) == address, text
    for text in spellings(address)[8:]:
        parsed = parse_address(text)
        assert parsed is not None, text
        # an IPv6 form is judged as the IPv4 address it carries
        assert (forbidden_reason(parsed) or "").startswith(forbidden_reason(address) or ""), text
        assert bool(forbidden_reason(parsed)) == bool(forbidden_reason(address)), text


@given(st.one_of(loopback4, link_local4))
def test_loopback_and_link_local_are_refused_in_every_spelling(address: ipaddress.IPv4Address) -> None:
    for text in spellings(address):
        parsed = parse_address(text)
        assert parsed is not None, text
        reason = forbidden_reason(parsed)
        assert reason and reason.split(" (")[0] in ("loopback", "link-local"), (text, reason)
        assert judge(Endpoint.parse(f"{text}:9000" if not text.startswith(("[", ":")) and ":" not in text
                                    else text)) is not None, text


@given(st.builds(ipaddress.IPv6Address, st.integers(min_value=0, max_value=2**128 - 1)))
def test_ipv6_judged_like_the_ipv4_address_it_carries(address: ipaddress.IPv6Address) -> None:
    reason = forbidden_reason(address)
    inner = address.ipv4_mapped or address.sixtofour
    if inner is not None and forbidden_reason(inner):
        assert reason is not None
    if address.is_loopback or address.is_link_local or address.is_multicast or address.is_unspecified:
        assert reason is not None


METADATA = "link-local (a cloud metadata address)"


@pytest.mark.parametrize("text, reason", [
    ("127.0.0.1", "loopback"), ("127.1", "loopback"), ("2130706433", "loopback"), ("0x7f000001", "loopback"),
    ("017700000001", "loopback"), ("0x7f.1", "loopback"), ("::1", "loopback"), ("[::1]", "loopback"),
    ("::ffff:127.0.0.1", "loopback"), ("::ffff:7f00:1", "loopback"), ("0:0:0:0:0:ffff:7f00:1", "loopback"),
    ("169.254.169.254", METADATA), ("169.254.170.2", METADATA), ("2852039166", METADATA), ("0xa9fea9fe", METADATA),
    ("fd00:ec2::254", "a cloud metadata address"), ("100.100.100.200", "a cloud metadata address"),
    ("169.254.1.1", "link-local"), ("fe80::1", "link-local"), ("fe80::1%eth0", "link-local"),
    ("0.0.0.0", "unspecified"), ("0", "unspecified"), ("::", "unspecified"), ("0.1.2.3", "unspecified"),
    ("224.0.0.1", "multicast"), ("ff02::1", "multicast"), ("255.255.255.255", "broadcast"), ("240.0.0.1", "reserved"),
])
def test_forbidden_addresses(text: str, reason: str) -> None:
    address = parse_address(text)
    assert address is not None
    assert (forbidden_reason(address) or "").startswith(reason)


@pytest.mark.parametrize("text", ["10.0.0.5", "172.20.1.1", "192.168.1.10", "fd12:3456::1", "8.8.8.8", "100.64.0.1",
                                  "2001:db8::1", "52.216.0.1"])
def test_private_and_public_addresses_are_allowed(text: str) -> None:
    address = parse_address(text)
    assert address is not None and forbidden_reason(address) is None


def loopback_names() -> list[str]:
    """Names this machine's /etc/hosts maps to a loopback address (localhost at least)."""
    names = set()
    with open("/etc/hosts") as f:
        for line in f:
            fields = line.split("#", 1)[0].split()
            if len(fields) >= 2 and (parse_address(fields[0]) or ipaddress.ip_address("1.1.1.1")).is_loopback:
                names.update(n.lower() for n in fields[1:])
    return sorted(names | {"localhost"})


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(loopback_names()), st.sampled_from(["", ".", ":9000", ".:443"]), st.booleans())
def test_names_that_resolve_to_loopback_are_refused(name: str, suffix: str, upper: bool) -> None:
    text = (name.upper() if upper else name) + suffix
    refusal = judge(Endpoint.parse(text))
    assert refusal is not None and "loopback" in str(refusal), text


@pytest.mark.parametrize("text", ["metadata.google.internal", "METADATA.google.internal.", "metadata",
                                  "instance-data:80", "http://metadata.google.internal/computeMetadata/v1/"])
def test_metadata_names_are_refused_without_resolving(text: str) -> None:
    def no_dns(*_args, **_kwargs):
        raise AssertionError("resolved")

    assert "metadata" in str(judge(Endpoint.parse(text), resolve=no_dns))


@pytest.mark.parametrize("text, host, port", [
    ("minio.argo.svc:9000", "minio.argo.svc", 9000), ("MinIO.Argo.svc", "minio.argo.svc", None),
    ("https://s3.amazonaws.com", "s3.amazonaws.com", 443),
    ("http://127.0.0.1:10000/devstoreaccount1", "127.0.0.1", 10000),
    ("[::1]:9000", "::1", 9000), ("::1", "::1", None), ("http://user:pw@host:81/x", "host", 81),
    ("127.1:80", "127.0.0.1", 80), ("2130706433", "127.0.0.1", None),
])
def test_endpoint_parsing(text: str, host: str, port: int | None) -> None:
    endpoint = Endpoint.parse(text)
    assert (endpoint.host, endpoint.port) == (host, port)


@pytest.mark.parametrize(
    "text", ["", "a b", "evil.com#.amazonaws.com", "host:99999", "host:x", "[::1]x", "user@", "/just/a/path"]
)
def test_endpoints_that_name_no_host_are_errors(text: str) -> None:
    with pytest.raises(EndpointError):
        Endpoint.parse(text)


def test_patterns() -> None:
    aws = EndpointPattern.parse("*.amazonaws.com")
    assert not aws.exact
    assert aws.matches(Endpoint.parse("s3.us-east-1.amazonaws.com"))
    assert aws.matches(Endpoint.parse("bucket.s3.amazonaws.com:443"))
    assert not aws.matches(Endpoint.parse("amazonaws.com.evil.com"))
    minio = EndpointPattern.parse("minio.argo.svc:9000")
    assert minio.exact and minio.matches(Endpoint.parse("MINIO.argo.svc:9000"))
    assert not minio.matches(Endpoint.parse("minio.argo.svc:9001"))
    assert not minio.matches(Endpoint.parse("minio.argo.svc"))
    assert EndpointPattern.parse("127.0.0.1:8080").matches(Endpoint.parse("127.1:8080"))
    assert EndpointPattern.parse("minio.argo.svc").matches(Endpoint.parse("minio.argo.svc:1234"))


# -- the guard ----------------------------------------------------------------------


class Answers:
    """A resolver whose answers the test sets per name, recording each question."""

    def __init__(self, **answers: list[str]) -> None:
        self.answers = {name.replace("_", "."): list(addrs) for name, addrs in answers.items()}
        self.asked: list[str] = []

    def __call__(self, host, port, *args, **kwargs):
        self.asked.append(host)
        addrs = self.answers.get(host)
        if not addrs:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port or 0))
                for a in addrs]


class Owner:
    """Stands for a configured store: the guard holds names while it lives."""


def test_guard_filters_a_rebound_name_and_leaves_other_names_alone() -> None:
    answers = Answers(storage_example_com=["203.0.113.7"], metadata_google_internal=["169.254.169.254"])
    guard = ResolutionGuard(answers)
    owner = Owner()
    assert judge(Endpoint.parse("storage.example.com:443"), resolve=answers) is None
    guard.hold(owner, [("storage.example.com", False)])
    assert guard.getaddrinfo("storage.example.com", 443)[0][4][0] == "203.0.113.7"
    # DNS rebinding: the same name now answers loopback, and a mix of both
    answers.answers["storage.example.com"] = ["127.0.0.1"]
    refused = "refused by policy: storage.example.com resolved to 127.0.0.1, which is loopback"
    with pytest.raises(socket.gaierror, match=refused):
        guard.getaddrinfo("storage.example.com", 443)
    answers.answers["storage.example.com"] = ["127.0.0.1", "203.0.113.8"]
    assert [info[4][0] for info in guard.getaddrinfo("storage.example.com", 443)] == ["203.0.113.8"]
    # virtual-host style: the bucket in front of a held name is the same server's zone
    answers.answers["bucket.storage.example.com"] = ["169.254.169.254"]
    with pytest.raises(socket.gaierror, match="cloud metadata"):
        guard.getaddrinfo("bucket.storage.example.com", 443)
    # the SDK's own credential service is not a name any configuration holds
    assert guard.getaddrinfo("metadata.google.internal", 80)[0][4][0] == "169.254.169.254"


def test_guard_trusts_names_listed_exactly_and_releases_names_with_their_store() -> None:
    answers = Answers(minio_test=["127.0.0.1"])
    guard = ResolutionGuard(answers)
    trusted, untrusted = Owner(), Owner()
    guard.hold(trusted, [("minio.test", True)])
    guard.hold(untrusted, [("minio.test", False)])
    assert guard.getaddrinfo("minio.test", 9000)[0][4][0] == "127.0.0.1"
    del trusted
    with pytest.raises(socket.gaierror):
        guard.getaddrinfo("minio.test", 9000)
    del untrusted
    assert guard.held_names() == {}
    assert guard.getaddrinfo("minio.test", 9000)[0][4][0] == "127.0.0.1"


def test_guard_never_holds_a_name_for_a_parent_zone_of_metadata() -> None:
    """A configuration naming 'internal' must not change how the SDK resolves its
    metadata service (that would break GKE credentials for every other workflow)."""
    answers = Answers(metadata_google_internal=["169.254.169.254"])
    guard = ResolutionGuard(answers)
    owner = Owner()
    guard.hold(owner, [("internal", False), ("google.internal", False)])
    assert guard.getaddrinfo("metadata.google.internal", 80)[0][4][0] == "169.254.169.254"


def test_installed_guard_wraps_socket_getaddrinfo() -> None:
    guard = ResolutionGuard()
    original = socket.getaddrinfo
    try:
        guard.install()
        guard.install()  # twice: still one guard in front of the real resolver
        assert socket.getaddrinfo == guard.getaddrinfo and guard.original_getaddrinfo is original
        owner = Owner()
        guard.hold(owner, [("localhost", False)])
        with pytest.raises(socket.gaierror, match="loopback"):
            socket.getaddrinfo("localhost", 80)
        with pytest.raises(OSError):  # what ftplib, urllib3 and asyncio's resolver call
            socket.create_connection(("localhost", 9), timeout=1)
    finally:
        socket.getaddrinfo = original


def test_aiohttp_resolves_names_through_socket_getaddrinfo() -> None:
    """aiohttp's default resolver is the threaded one (aiodns would bypass the guard):
    it must stay so (aiodns is not in our dependencies)."""
    aiohttp_resolver = pytest.importorskip("aiohttp.resolver")
    assert aiohttp_resolver.DefaultResolver is aiohttp_resolver.ThreadedResolver
