"""Ray's `ray.experimental.compiled_dag_ref`: the refs and futures a compiled graph's
`execute()` / `execute_async()` return."""

from ember._compiled_dag import CompiledDAGFuture, CompiledDAGRef

__all__ = ["CompiledDAGFuture", "CompiledDAGRef"]
