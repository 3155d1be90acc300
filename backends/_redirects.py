"""Redirects not followed by the HTTP layer under s3fs and gcsfs (aiohttp).

aiohttp follows a 3xx answer on its own, to any host, and sends the request again there
(a 307 keeps the method and the body). A server that a configuration names, and the
operator's policy allowed, could so send the plugin's next request to a host the policy
never judged: a literal ``169.254.169.254`` (the metadata service, which hands out the
node's credentials), or a name that resolves there. Neither S3 nor the GCS JSON API needs
aiohttp to follow redirects: botocore's own HTTP layer never does (S3's region redirects
are botocore's job, from the response's headers), and gcsfs reads the ``Location`` of a
resumable upload itself. So a redirect ends the request with an error saying so, and for
gcsfs, whose resumable uploads go on at a URL the server answers with, so does any request
to another server.
"""

from __future__ import annotations

from typing import Any


def refused(status: int, location: str) -> ConnectionRefusedError:
    return ConnectionRefusedError(
        f"the server answered {status} with a redirect to {location}; the plugin does not follow "
        "redirects (the operator's policy judges the configured endpoint only)"
    )


class NoRedirects:
    """An ``aiohttp.ClientSession`` seen through ``request(..., allow_redirects=False)``."""

    def __init__(self, session: Any) -> None:
        self._session = session

    def request(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["allow_redirects"] = False
        return self._session.request(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


def aiobotocore_session_class() -> type:
    """aiobotocore's HTTP session class (``AioConfig(http_session_cls=...)``), except that
    it never follows a redirect: the 3xx answer goes to botocore, which handles S3's own."""
    from aiobotocore.httpsession import AIOHTTPSession

    class SameServerSession(AIOHTTPSession):
        async def _get_session(self, proxy_url: Any) -> Any:
            return NoRedirects(await super()._get_session(proxy_url))

    return SameServerSession


def refuse_redirects_trace(server: str | None = None) -> Any:
    """An ``aiohttp.TraceConfig`` that ends a request as soon as it would follow a
    redirect to another server (for SDKs that create their session from keyword arguments:
    gcsfs). A redirect to the same scheme, host and port is the same server, which the
    policy judged: GCS answers a resumable upload's chunks with 308 ("resume incomplete"),
    which some servers send with a ``Location`` of the upload itself.

    With ``server`` (a URL), no request of the session may go anywhere else, redirect or
    not: a resumable upload goes on at the ``Location`` its server answered with, which
    gcsfs (and the GCS backend's one-request upload) follow as a new request, with the
    credentials. That URL must name the server the policy judged."""
    import aiohttp
    from yarl import URL

    def origin(url: URL) -> tuple[str, str | None, int | None]:
        return url.scheme, url.host, url.port

    async def on_redirect(_session: Any, _context: Any, params: Any) -> None:
        location = params.response.headers.get("Location")
        if not location:  # aiohttp follows only a Location
            return
        source = URL(str(params.url))
        if origin(source.join(URL(location))) != origin(source):
            raise refused(params.response.status, location)

    async def on_start(_session: Any, _context: Any, params: Any) -> None:
        if origin(URL(str(params.url))) != origin(URL(server)):
            raise ConnectionRefusedError(
                f"a request to {URL(str(params.url)).origin()} (a URL the server answered with) was not sent: "
                f"the plugin talks only to {URL(server).origin()}, the server the operator's policy judged"
            )

    trace = aiohttp.TraceConfig()
    trace.on_request_redirect.append(on_redirect)
    if server is not None:
        trace.on_request_start.append(on_start)
    return trace
