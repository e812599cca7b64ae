"""The private runtime: node manager, worker processes, objects and their wire format."""
