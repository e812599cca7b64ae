"""Task DAGs, as Ray's `ray.dag`: build a graph lazily with `.bind()`, run it with
`.execute()`.

    with InputNode() as inp:
        a = preprocess.bind(inp)
        actor = Model.bind(weights)
        out = actor.predict.bind(a)
    ref = out.execute(x)          # an ObjectRef; ember.get(ref) is the result

`.bind()` works on remote functions, actor classes (the actor is created when the graph
runs, once per `execute()`), methods of those class nodes and methods of existing actor
handles. `InputNode` stands for `execute`'s arguments: `inp` is the single positional
argument (or all of them), `inp[i]` / `inp["key"]` / `inp.key` pick one. A
`MultiOutputNode([...])` returns a list of refs. Nodes nested in list, tuple and dict
arguments are resolved too. Each `execute()` submits the graph's tasks once each (a node
used twice runs once); upstream results flow as ObjectRefs, so nothing waits in the
driver.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ClassMethodNode", "ClassNode", "DAGNode", "FunctionNode", "InputAttributeNode",
           "InputNode", "MultiOutputNode"]


class DAGNode:
    """A node of a lazily built graph; `execute()` runs the graph up to this node."""

    def __init__(self, args: tuple = (), kwargs: dict | None = None,
                 options: dict | None = None) -> None:
        self._bound_args = tuple(args)
        self._bound_kwargs = dict(kwargs or {})
        self._bound_options = dict(options or {})

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        """Run the graph with these inputs; returns this node's ObjectRef (a list of refs
        for a MultiOutputNode, an actor handle for a class node)."""
        return self._run(_Run(args, kwargs))

    def get_args(self) -> tuple:
        return self._bound_args

    def get_kwargs(self) -> dict:
        return dict(self._bound_kwargs)

    def get_options(self) -> dict:
        return dict(self._bound_options)

    def experimental_compile(self, _submit_timeout: float | None = None,
                             _buffer_size_bytes: int | None = None,
                             enable_asyncio: bool = False,
                             _max_inflight_executions: int | None = None,
                             **kwargs: Any) -> Any:
        """Compile a graph of existing actors' method calls into shared-memory channels
        and per-actor loops (Ray's compiled graphs); returns a CompiledDAG whose
        `execute()` returns CompiledDAGRefs. See docs/architecture.md."""
        from ember._compiled_dag import CompiledDAG

        return CompiledDAG(self, _submit_timeout, _buffer_size_bytes, enable_asyncio,
                           _max_inflight_executions)

    def _run(self, run: _Run) -> Any:
        key = id(self)
        if key not in run.done:
            run.done[key] = self._execute(run, run.resolve(self._bound_args),
                                          run.resolve(self._bound_kwargs))
        return run.done[key]

    def _execute(self, run: _Run, args: tuple, kwargs: dict) -> Any:
        raise NotImplementedError


class _Run:
    """One execution: the inputs, and each node's result so far."""

    def __init__(self, args: tuple, kwargs: dict) -> None:
        self.args = args
        self.kwargs = kwargs
        self.done: dict[int, Any] = {}

    def resolve(self, value: Any) -> Any:
        if isinstance(value, DAGNode):
            return value._run(self)
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.resolve(v) for v in value)
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        return value


class FunctionNode(DAGNode):
    """A remote function call in a graph (`f.bind(...)`)."""

    def __init__(self, fn: Any, args: tuple, kwargs: dict, options: dict | None = None
                 ) -> None:
        super().__init__(args, kwargs, options)
        self._body = fn

    def options(self, **options: Any) -> FunctionNode:
        return FunctionNode(self._body, self._bound_args, self._bound_kwargs,
                            {**self._bound_options, **options})

    def _execute(self, run: _Run, args: tuple, kwargs: dict) -> Any:
        fn = self._body.options(**self._bound_options) if self._bound_options else self._body
        return fn.remote(*args, **kwargs)


class ClassNode(DAGNode):
    """An actor to create when the graph runs (`Actor.bind(...)`); its methods bind too."""

    def __init__(self, cls: Any, args: tuple, kwargs: dict, options: dict | None = None
                 ) -> None:
        super().__init__(args, kwargs, options)
        self._body = cls
        self._last_call: ClassMethodNode | None = None  # the method bound on it last

    def options(self, **options: Any) -> ClassNode:
        return ClassNode(self._body, self._bound_args, self._bound_kwargs,
                         {**self._bound_options, **options})

    def __getattr__(self, name: str) -> _MethodBinder:
        if name.startswith("_"):
            raise AttributeError(name)
        return _MethodBinder(self, name)

    def _execute(self, run: _Run, args: tuple, kwargs: dict) -> Any:
        cls = self._body.options(**self._bound_options) if self._bound_options else \
            self._body
        return cls.remote(*args, **kwargs)


class _MethodBinder:
    """`node.method` or `handle.method` before `.bind(...)`."""

    def __init__(self, target: Any, name: str, options: dict | None = None) -> None:
        self._target = target
        self._name = name
        self._options = dict(options or {})

    def options(self, **options: Any) -> _MethodBinder:
        return _MethodBinder(self._target, self._name, {**self._options, **options})

    def bind(self, *args: Any, **kwargs: Any) -> ClassMethodNode:
        """As in Ray, calls bound on one class node run in the order they were bound:
        executing one first runs the calls bound before it."""
        node = ClassMethodNode(self._target, self._name, args, kwargs, self._options)
        if isinstance(self._target, ClassNode):
            node._prev = self._target._last_call
            self._target._last_call = node
        return node


class ClassMethodNode(DAGNode):
    """A method call on an actor of the graph (a ClassNode) or on an existing actor."""

    def __init__(self, target: Any, method: str, args: tuple, kwargs: dict,
                 options: dict | None = None, bound: Any = None) -> None:
        super().__init__(args, kwargs, options)
        self._target = target
        self._method = method
        self._bound = bound  # handle.method.options(...) already made, if any
        self._prev: ClassMethodNode | None = None  # the call bound before it on its actor

    def _execute(self, run: _Run, args: tuple, kwargs: dict) -> Any:
        if self._prev is not None:
            run.resolve(self._prev)
        if self._bound is not None:
            return self._bound.remote(*args, **kwargs)
        handle = run.resolve(self._target)
        method = getattr(handle, self._method)
        if self._bound_options:
            method = method.options(**self._bound_options)
        return method.remote(*args, **kwargs)


class InputNode(DAGNode):
    """The graph's input: `execute(x)` makes it x; with several arguments (or keywords),
    pick one with `inp[i]`, `inp["key"]` or `inp.key`. Use it as a context manager, as in
    Ray."""

    def __enter__(self) -> InputNode:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def __getitem__(self, key: Any) -> InputAttributeNode:
        return InputAttributeNode(self, key, "item")

    def __getattr__(self, name: str) -> InputAttributeNode:
        if name.startswith("_"):
            raise AttributeError(name)
        return InputAttributeNode(self, name, "attr")

    def _execute(self, run: _Run, args: tuple, kwargs: dict) -> Any:
        if len(run.args) == 1 and not run.kwargs:
            return run.args[0]
        return _Inputs(run.args, run.kwargs)


class _Inputs:
    """Several inputs to `execute`: positions and keywords."""

    def __init__(self, args: tuple, kwargs: dict) -> None:
        self.args = args
        self.kwargs = kwargs


class InputAttributeNode(DAGNode):
    """One part of the input: `inp[0]`, `inp["key"]` or `inp.key`."""

    def __init__(self, source: InputNode, key: Any, how: str) -> None:
        super().__init__()
        self._source = source
        self._key = key
        self._how = how

    def _execute(self, run: _Run, args: tuple, kwargs: dict) -> Any:
        value = self._source._run(run)
        if isinstance(value, _Inputs):
            if isinstance(self._key, int):
                return value.args[self._key]
            return value.kwargs[self._key]
        if self._how == "attr":
            return getattr(value, self._key)
        return value[self._key]


class MultiOutputNode(DAGNode):
    """Several outputs at once: `execute()` returns the list of their results."""

    def __init__(self, nodes: list) -> None:
        super().__init__((list(nodes),))

    def _execute(self, run: _Run, args: tuple, kwargs: dict) -> Any:
        return list(args[0])
