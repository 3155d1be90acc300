"""A tiny HTTPS server answering the one Kubernetes call the plugin makes.

There is no Kubernetes API server on this machine (TESTING.md), so secret resolution
through the API is tested against this stand-in: it serves
``GET /api/v1/namespaces/NS/secrets/NAME`` with the secret's ``data`` base64-encoded,
over TLS with a CA the test generates, and answers 401 to a wrong bearer token, 404 to an
unknown secret, exactly as the API server does for these cases.
"""

from __future__ import annotations

import base64
import json
import re
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tlsutil import ThrowawayCA

_PATH = re.compile(r"^/api/v1/namespaces/([^/]+)/secrets/([^/]+)$")


class FakeKubernetesAPI:
    def __init__(self, ca: ThrowawayCA, token: str, namespace: str) -> None:
        self.token = token
        self.namespace = namespace
        self.secrets: dict[str, dict[str, bytes]] = {}
        self.requests: list[str] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                api.requests.append(self.path)
                if self.headers.get("Authorization") != f"Bearer {api.token}":
                    return self._answer(401, {"kind": "Status", "reason": "Unauthorized"})
                match = _PATH.match(self.path)
                if not match or match.group(1) != api.namespace or match.group(2) not in api.secrets:
                    return self._answer(404, {"kind": "Status", "reason": "NotFound"})
                data = {k: base64.b64encode(v).decode() for k, v in api.secrets[match.group(2)].items()}
                self._answer(200, {"kind": "Secret", "metadata": {"name": match.group(2)}, "data": data})

            def _answer(self, status: int, body: dict) -> None:
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(ca.cert_path, ca.key_path)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, name="fake-k8s-api", daemon=True)
        self._thread.start()

    def gets(self, name: str) -> int:
        return sum(1 for p in self.requests if p.endswith(f"/secrets/{name}"))

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
