"""The faces of the gateway: the gRPC services and the HTTP routes, over the same chain."""
