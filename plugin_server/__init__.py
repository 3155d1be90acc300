"""The gRPC edge: servicer, server on a unix socket, console entry points.

The only package that imports grpc; it knows nothing of any storage system.
"""
