"""Our re-implementations of the few Ray-internal helpers that Ray's tests import."""
