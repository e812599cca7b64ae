"""Generated gRPC/protobuf modules, one .proto per service (regenerate: protos/generate.py)."""
