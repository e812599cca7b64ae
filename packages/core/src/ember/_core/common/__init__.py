"""Code every process of the runtime shares: ids, wire format, framing, limits."""
