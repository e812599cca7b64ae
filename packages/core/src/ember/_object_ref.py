"""ObjectRef: a reference to a value in the cluster; ObjectRefGenerator for streaming."""

from __future__ import annotations

import types
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from ember._core.caller import context, values
from ember._core.common import ids, refs, serialization
from ember.ids import JobID, TaskID

if TYPE_CHECKING:
    import concurrent.futures


class ObjectRef:
    """A reference to an object (a task's return value or a `put` value).

    Hashable and comparable by id; `await ref` and `ref.future()` wait for the value. The
    value is freed when no ObjectRef to it remains anywhere in the cluster.
    """

    __slots__ = ("_id", "__weakref__")

    # `ObjectRef[np.ndarray]` in annotations, as with Ray's generic ObjectRef.
    __class_getitem__ = classmethod(types.GenericAlias)

    def __init__(self, binary: bytes, _announce: bool = True) -> None:
        self._id = binary
        refs.current.add(binary, _announce)

    def __del__(self) -> None:
        try:
            refs.current.remove(self._id)
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass

    def binary(self) -> bytes:
        return self._id

    def hex(self) -> str:
        return self._id.hex()

    def task_id(self) -> TaskID:
        """The id of the task that made the object (a put's pseudo task for `put`)."""
        return TaskID(ids.task_of(self._id))

    def job_id(self) -> JobID:
        """The id of the job that made the object."""
        return JobID(ids.job_of(ids.task_of(self._id)))

    def __hash__(self) -> int:
        return hash(self._id)

    def __eq__(self, other: object) -> bool:
        return type(other) is ObjectRef and other._id == self._id

    def __repr__(self) -> str:
        return f"ObjectRef({self._id.hex()})"

    def __reduce__(self) -> Any:
        c = serialization.contained_collector()
        if c is not None:
            c.append(self._id)
        elif self._id not in _OUT_OF_BAND:
            # Pickled outside ember (pickle/cloudpickle to a file, a queue, …): as in Ray,
            # the object stays pinned while this process lives, so the bytes can be
            # loaded and the value read later.
            _OUT_OF_BAND.add(self._id)
            refs.current.add(self._id, True)
        return (_rebuild, (self._id,))

    def __copy__(self) -> ObjectRef:
        return ObjectRef(self._id)

    def __deepcopy__(self, memo: Any) -> ObjectRef:
        return ObjectRef(self._id)

    def future(self) -> concurrent.futures.Future:
        """A concurrent.futures.Future that resolves to the value (or its error)."""
        import concurrent.futures

        fut: concurrent.futures.Future = concurrent.futures.Future()

        def done(ok: bool, result: Any) -> None:
            if fut.done():  # cancelled by the waiter (e.g. asyncio.wait_for timed out)
                return
            try:
                if not ok:
                    fut.set_exception(result)
                    return
                value, is_error = result[0]
                if is_error:  # set, not raised here: no traceback through this frame,
                    # whose `fut` holds the error (a cycle that would keep the awaiting
                    # frames and their ObjectRefs until the cyclic collector runs)
                    fut.set_exception(values.error_to_raise(value))
                else:
                    fut.set_result(value)
            except concurrent.futures.InvalidStateError:
                pass

        context.require_client().get_async([self._id], done)
        return fut

    def as_future(self, _internal: bool = False) -> Any:
        """An asyncio.Future of the value (or its error), for asyncio.gather/wait."""
        import asyncio

        return asyncio.wrap_future(self.future())

    def __await__(self) -> Generator[Any, None, Any]:
        import asyncio

        return asyncio.wrap_future(self.future()).__await__()


_OUT_OF_BAND: set[bytes] = set()  # ids pinned because they were pickled outside ember


def _rebuild(binary: bytes) -> ObjectRef:
    return ObjectRef(binary)


class ObjectRefGenerator:
    """The result of a streaming generator task: iterate to get an ObjectRef per item.

    Iteration blocks until the task yields the next item; an error raised by the task
    is raised by the `get` of the item at which it happened.
    """

    def __init__(self, task_id: bytes) -> None:
        self._task_id = task_id
        self._next = 1
        self._done = False
        # wait() asks ahead whether the next item is in: (ok, reply) once known.
        self._ahead: Any = None
        self._asked: Any = None  # a threading.Event while that question is open

    def __iter__(self) -> ObjectRefGenerator:
        return self

    def __next__(self) -> ObjectRef:
        ref = self._next_ref(None)
        if ref is None:
            raise StopIteration
        return ref

    def _ready_event(self) -> Any:
        """An Event set once the next item is in or the task has ended (for wait())."""
        import threading

        if self._asked is None:
            event = self._asked = threading.Event()
            if self._done:
                event.set()
                return event

            def known(ok: bool, value: Any) -> None:
                self._ahead = (ok, value)
                event.set()

            context.require_client().call_async("gen_next", (self._task_id, self._next),
                                                known)
        return self._asked

    def _next_ref(self, timeout: float | None) -> ObjectRef | None:
        if self._done:
            return None
        if self._asked is not None:  # wait() already asked: use its answer
            self._asked.wait()
            ok, res = self._ahead
            self._asked = self._ahead = None
            if not ok:
                from ember._core.common import native_errors

                raise native_errors.to_public(res)
        else:
            res = context.require_client().call("gen_next", self._task_id, self._next)
        if res[0] == "end":
            self._done = True
            return None
        self._next += 1
        return ObjectRef(res[1], _announce=False)

    def __aiter__(self) -> ObjectRefGenerator:
        return self

    async def __anext__(self) -> ObjectRef:
        import asyncio

        loop = asyncio.get_running_loop()
        ref = await loop.run_in_executor(None, self._next_ref, None)
        if ref is None:
            raise StopAsyncIteration
        return ref

    def is_finished(self) -> bool:
        return self._done

    def task_id(self) -> bytes:
        return self._task_id

    def __del__(self) -> None:
        if self._done:
            return
        # Queued, not sent: the collector may run this inside the runtime's own locks.
        try:
            refs.current.drop_generator(self._task_id, self._next)
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass

    def __repr__(self) -> str:
        return f"ObjectRefGenerator({self._task_id.hex()})"


class DynamicObjectRefGenerator:
    """What a `num_returns="dynamic"` task's one ObjectRef resolves to: an ObjectRef per
    value its generator yielded, in order (Ray's older form of generator tasks). If the
    generator raised, the last ObjectRef holds the error."""

    def __init__(self, refs: list[ObjectRef]) -> None:
        self._refs = list(refs)

    def __iter__(self) -> Any:
        return iter(self._refs)

    def __len__(self) -> int:
        return len(self._refs)

    def __repr__(self) -> str:
        return f"DynamicObjectRefGenerator({len(self._refs)} refs)"
