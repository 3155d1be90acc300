"""The transport's ceiling: a bare gRPC server that streams bytes it already holds.

It serves ``artifact.ArtifactService/OpenStream`` on a unix socket, so a client uses the
plugin's own generated stub and receives byte-identical messages, but each message is
serialised once at start and sent again and again: no storage, no per-message work.
The request's ``plugin.key`` is ``CHUNK:TOTAL`` (bytes). It also serves SaveStream by
parsing every frame and dropping it: the ceiling of an upload over the same transport. Run: ``python bare_grpc.py SOCKET``.
"""

from __future__ import annotations

import signal
import sys
from concurrent.futures import ThreadPoolExecutor

import grpc

from argo_artifact_driver.plugin_server import artifact_pb2 as pb

LIMIT = 8 * 1024 * 1024


def open_stream(request: pb.OpenStreamRequest, context: grpc.ServicerContext):
    chunk, total = (int(x) for x in request.artifact.plugin.key.split(":"))
    message = pb.OpenStreamResponse(data=b"\x5a" * chunk).SerializeToString()
    sent = 0
    while sent + chunk <= total:
        yield message
        sent += chunk
    if total > sent:
        yield pb.OpenStreamResponse(data=b"\x5a" * (total - sent)).SerializeToString()
    yield pb.OpenStreamResponse(is_end=True).SerializeToString()


def save_stream(requests, context: grpc.ServicerContext) -> bytes:
    for _ in requests:  # parsed exactly as the plugin parses them, then dropped
        pass
    return pb.SaveArtifactResponse(success=True).SerializeToString()


def main(socket_path: str) -> None:
    server = grpc.server(ThreadPoolExecutor(max_workers=4),
                         options=[("grpc.max_receive_message_length", LIMIT), ("grpc.max_send_message_length", LIMIT)])
    handler = grpc.unary_stream_rpc_method_handler(open_stream, request_deserializer=pb.OpenStreamRequest.FromString)
    upload = grpc.stream_unary_rpc_method_handler(save_stream, request_deserializer=pb.SaveStreamArtifactRequest.FromString)
    methods = {"OpenStream": handler, "SaveStream": upload}
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler("artifact.ArtifactService", methods)])
    server.add_insecure_port(f"unix:{socket_path}")
    server.start()
    signal.signal(signal.SIGTERM, lambda *_: server.stop(0))
    server.wait_for_termination()


if __name__ == "__main__":
    main(sys.argv[1])
