"""An HTTPS stand-in for Google's front door: an OAuth token endpoint, and a recording
pass-through to the GCS emulator for everything else.

The emulator speaks plain HTTP and ignores credentials, and Google's token endpoint is
not reachable from here, so this shows what the plugin sends with a service-account key:
the token request must carry a JWT signed with the key from the secret (checked with its
public key), and storage requests the access token this endpoint handed out.
"""

from __future__ import annotations

import http.client
import urllib.parse
from http.server import BaseHTTPRequestHandler

from support.tlsutil import JsonReplies, ThrowawayCA, serve_https

ACCESS_TOKEN = "ya29.front-door-token-3b7e"


class GoogleFront:
    def __init__(self, ca: ThrowawayCA, emulator_port: int, public_key_pem: bytes) -> None:
        self.token_claims: list[dict] = []
        self.authorizations: list[str] = []
        front = self

        class Handler(JsonReplies, BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                if self.path == "/token":
                    return self._token()
                self._forward()

            def _token(self) -> None:
                from google.auth import jwt

                form = urllib.parse.parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
                try:  # verifies the signature with the key's public half
                    claims = jwt.decode(form["assertion"][0], certs=public_key_pem, verify=True, audience=None)
                except Exception:
                    return self._answer(400, {"error": "invalid_grant"})
                front.token_claims.append(claims)
                self._answer(200, {"access_token": ACCESS_TOKEN, "expires_in": 3600, "token_type": "Bearer"})

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                front.authorizations.append(self.headers.get("Authorization", ""))
                upstream = http.client.HTTPConnection("127.0.0.1", emulator_port, timeout=60)
                upstream.request(self.command, self.path, body=body, headers=dict(self.headers.items()))
                response = upstream.getresponse()
                data = response.read()
                self.send_response(response.status)
                for name, value in response.getheaders():
                    if name.lower() == "location" and value.startswith("http://"):
                        # a resumable upload's session URL: Google's is https, like this door
                        value = "https://" + value[len("http://"):]
                    if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                upstream.close()

            do_GET = do_PUT = do_DELETE = do_PATCH = _forward  # noqa: N815

        self.server = serve_https(Handler, ca, "google-front")
        self.port = self.server.server_address[1]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
