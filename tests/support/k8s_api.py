"""A tiny HTTPS server answering the one Kubernetes call the plugin makes.

There is no Kubernetes API server where the tests run, so secret resolution
through the API is tested against this stand-in: it serves
``GET /api/v1/namespaces/NS/secrets/NAME`` with the secret's ``data`` base64-encoded,
over TLS with a CA the test generates, and answers 401 to a wrong bearer token, 404 to an
unknown secret, exactly as the API server does for these cases.
"""

from __future__ import annotations

import base64
import re
from http.server import BaseHTTPRequestHandler

from support.tlsutil import JsonReplies, ThrowawayCA, serve_https

_PATH = re.compile(r"^/api/v1/namespaces/([^/]+)/secrets/([^/]+)$")


class FakeKubernetesAPI:
    def __init__(self, ca: ThrowawayCA, token: str, namespace: str) -> None:
        self.token = token
        self.namespace = namespace
        self.secrets: dict[str, dict[str, bytes]] = {}
        self.requests: list[str] = []
        api = self

        class Handler(JsonReplies, BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                api.requests.append(self.path)
                if self.headers.get("Authorization") != f"Bearer {api.token}":
                    return self._answer(401, {"kind": "Status", "reason": "Unauthorized"})
                match = _PATH.match(self.path)
                if not match or match.group(1) != api.namespace or match.group(2) not in api.secrets:
                    return self._answer(404, {"kind": "Status", "reason": "NotFound"})
                data = {k: base64.b64encode(v).decode() for k, v in api.secrets[match.group(2)].items()}
                self._answer(200, {"kind": "Secret", "metadata": {"name": match.group(2)}, "data": data})

        self.server = serve_https(Handler, ca, "fake-k8s-api")
        self.port = self.server.server_address[1]

    def gets(self, name: str) -> int:
        return sum(1 for p in self.requests if p.endswith(f"/secrets/{name}"))

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
