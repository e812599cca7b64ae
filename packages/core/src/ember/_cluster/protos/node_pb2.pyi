from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ForwardTaskRequest(_message.Message):
    __slots__ = ("spec", "owner_node", "owner_address", "deps")
    SPEC_FIELD_NUMBER: _ClassVar[int]
    OWNER_NODE_FIELD_NUMBER: _ClassVar[int]
    OWNER_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    DEPS_FIELD_NUMBER: _ClassVar[int]
    spec: bytes
    owner_node: str
    owner_address: str
    deps: _containers.RepeatedCompositeFieldContainer[Dep]
    def __init__(self, spec: _Optional[bytes] = ..., owner_node: _Optional[str] = ..., owner_address: _Optional[str] = ..., deps: _Optional[_Iterable[_Union[Dep, _Mapping]]] = ...) -> None: ...

class Dep(_message.Message):
    __slots__ = ("object_id", "data", "pending", "contained", "holder", "size")
    OBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    CONTAINED_FIELD_NUMBER: _ClassVar[int]
    HOLDER_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    object_id: bytes
    data: bytes
    pending: bool
    contained: _containers.RepeatedScalarFieldContainer[bytes]
    holder: str
    size: int
    def __init__(self, object_id: _Optional[bytes] = ..., data: _Optional[bytes] = ..., pending: _Optional[bool] = ..., contained: _Optional[_Iterable[bytes]] = ..., holder: _Optional[str] = ..., size: _Optional[int] = ...) -> None: ...

class ForwardTaskReply(_message.Message):
    __slots__ = ("accepted", "error")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    accepted: bool
    error: str
    def __init__(self, accepted: _Optional[bool] = ..., error: _Optional[str] = ...) -> None: ...

class TaskResultRequest(_message.Message):
    __slots__ = ("task_id", "node_id", "results", "retryable", "deps", "item")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    RETRYABLE_FIELD_NUMBER: _ClassVar[int]
    DEPS_FIELD_NUMBER: _ClassVar[int]
    ITEM_FIELD_NUMBER: _ClassVar[int]
    task_id: bytes
    node_id: str
    results: bytes
    retryable: bool
    deps: _containers.RepeatedCompositeFieldContainer[Dep]
    item: int
    def __init__(self, task_id: _Optional[bytes] = ..., node_id: _Optional[str] = ..., results: _Optional[bytes] = ..., retryable: _Optional[bool] = ..., deps: _Optional[_Iterable[_Union[Dep, _Mapping]]] = ..., item: _Optional[int] = ...) -> None: ...

class TaskResultReply(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ForwardBatchRequest(_message.Message):
    __slots__ = ("tasks",)
    TASKS_FIELD_NUMBER: _ClassVar[int]
    tasks: _containers.RepeatedCompositeFieldContainer[ForwardTaskRequest]
    def __init__(self, tasks: _Optional[_Iterable[_Union[ForwardTaskRequest, _Mapping]]] = ...) -> None: ...

class ForwardBatchReply(_message.Message):
    __slots__ = ("replies",)
    REPLIES_FIELD_NUMBER: _ClassVar[int]
    replies: _containers.RepeatedCompositeFieldContainer[ForwardTaskReply]
    def __init__(self, replies: _Optional[_Iterable[_Union[ForwardTaskReply, _Mapping]]] = ...) -> None: ...

class TaskResultBatch(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[TaskResultRequest]
    def __init__(self, results: _Optional[_Iterable[_Union[TaskResultRequest, _Mapping]]] = ...) -> None: ...

class PullRequest(_message.Message):
    __slots__ = ("object_id", "chunk_size")
    OBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    CHUNK_SIZE_FIELD_NUMBER: _ClassVar[int]
    object_id: bytes
    chunk_size: int
    def __init__(self, object_id: _Optional[bytes] = ..., chunk_size: _Optional[int] = ...) -> None: ...

class Chunk(_message.Message):
    __slots__ = ("data", "offset", "total")
    DATA_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    offset: int
    total: int
    def __init__(self, data: _Optional[bytes] = ..., offset: _Optional[int] = ..., total: _Optional[int] = ...) -> None: ...

class FreeRequest(_message.Message):
    __slots__ = ("object_ids",)
    OBJECT_IDS_FIELD_NUMBER: _ClassVar[int]
    object_ids: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, object_ids: _Optional[_Iterable[bytes]] = ...) -> None: ...

class FreeReply(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class KillActorRequest(_message.Message):
    __slots__ = ("actor_id", "no_restart")
    ACTOR_ID_FIELD_NUMBER: _ClassVar[int]
    NO_RESTART_FIELD_NUMBER: _ClassVar[int]
    actor_id: bytes
    no_restart: bool
    def __init__(self, actor_id: _Optional[bytes] = ..., no_restart: _Optional[bool] = ...) -> None: ...

class KillActorReply(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ReserveBundlesRequest(_message.Message):
    __slots__ = ("pg_id", "bundles", "here", "owner_node", "strategy", "name", "attempt")
    PG_ID_FIELD_NUMBER: _ClassVar[int]
    BUNDLES_FIELD_NUMBER: _ClassVar[int]
    HERE_FIELD_NUMBER: _ClassVar[int]
    OWNER_NODE_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    pg_id: str
    bundles: bytes
    here: _containers.RepeatedScalarFieldContainer[bool]
    owner_node: str
    strategy: str
    name: str
    attempt: int
    def __init__(self, pg_id: _Optional[str] = ..., bundles: _Optional[bytes] = ..., here: _Optional[_Iterable[bool]] = ..., owner_node: _Optional[str] = ..., strategy: _Optional[str] = ..., name: _Optional[str] = ..., attempt: _Optional[int] = ...) -> None: ...

class ReserveBundlesReply(_message.Message):
    __slots__ = ("reserved", "error")
    RESERVED_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    reserved: bool
    error: str
    def __init__(self, reserved: _Optional[bool] = ..., error: _Optional[str] = ...) -> None: ...

class ReturnBundlesRequest(_message.Message):
    __slots__ = ("pg_id", "attempt")
    PG_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    pg_id: str
    attempt: int
    def __init__(self, pg_id: _Optional[str] = ..., attempt: _Optional[int] = ...) -> None: ...

class ReturnBundlesReply(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
