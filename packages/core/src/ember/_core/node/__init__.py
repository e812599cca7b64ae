"""The node manager and its components: one process per node."""
