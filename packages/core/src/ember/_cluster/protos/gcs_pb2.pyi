from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Node(_message.Message):
    __slots__ = ("node_id", "address", "resources", "available", "labels", "state", "start_time", "last_heartbeat", "death_reason", "is_head", "pending_demand", "stats", "demands")
    class ResourcesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class AvailableEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class StatsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    DEATH_REASON_FIELD_NUMBER: _ClassVar[int]
    IS_HEAD_FIELD_NUMBER: _ClassVar[int]
    PENDING_DEMAND_FIELD_NUMBER: _ClassVar[int]
    STATS_FIELD_NUMBER: _ClassVar[int]
    DEMANDS_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    address: str
    resources: _containers.ScalarMap[str, float]
    available: _containers.ScalarMap[str, float]
    labels: _containers.ScalarMap[str, str]
    state: str
    start_time: float
    last_heartbeat: float
    death_reason: str
    is_head: bool
    pending_demand: float
    stats: _containers.ScalarMap[str, float]
    demands: _containers.RepeatedCompositeFieldContainer[Demand]
    def __init__(self, node_id: _Optional[str] = ..., address: _Optional[str] = ..., resources: _Optional[_Mapping[str, float]] = ..., available: _Optional[_Mapping[str, float]] = ..., labels: _Optional[_Mapping[str, str]] = ..., state: _Optional[str] = ..., start_time: _Optional[float] = ..., last_heartbeat: _Optional[float] = ..., death_reason: _Optional[str] = ..., is_head: _Optional[bool] = ..., pending_demand: _Optional[float] = ..., stats: _Optional[_Mapping[str, float]] = ..., demands: _Optional[_Iterable[_Union[Demand, _Mapping]]] = ...) -> None: ...

class Demand(_message.Message):
    __slots__ = ("shape", "count", "in_placement_groups")
    class ShapeEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    IN_PLACEMENT_GROUPS_FIELD_NUMBER: _ClassVar[int]
    shape: _containers.ScalarMap[str, float]
    count: int
    in_placement_groups: int
    def __init__(self, shape: _Optional[_Mapping[str, float]] = ..., count: _Optional[int] = ..., in_placement_groups: _Optional[int] = ...) -> None: ...

class RegisterNodeRequest(_message.Message):
    __slots__ = ("node",)
    NODE_FIELD_NUMBER: _ClassVar[int]
    node: Node
    def __init__(self, node: _Optional[_Union[Node, _Mapping]] = ...) -> None: ...

class RegisterNodeReply(_message.Message):
    __slots__ = ("heartbeat_period_s",)
    HEARTBEAT_PERIOD_S_FIELD_NUMBER: _ClassVar[int]
    heartbeat_period_s: float
    def __init__(self, heartbeat_period_s: _Optional[float] = ...) -> None: ...

class HeartbeatRequest(_message.Message):
    __slots__ = ("node_id", "available", "pending_demand", "stats", "demands")
    class AvailableEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class StatsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    PENDING_DEMAND_FIELD_NUMBER: _ClassVar[int]
    STATS_FIELD_NUMBER: _ClassVar[int]
    DEMANDS_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    available: _containers.ScalarMap[str, float]
    pending_demand: float
    stats: _containers.ScalarMap[str, float]
    demands: _containers.RepeatedCompositeFieldContainer[Demand]
    def __init__(self, node_id: _Optional[str] = ..., available: _Optional[_Mapping[str, float]] = ..., pending_demand: _Optional[float] = ..., stats: _Optional[_Mapping[str, float]] = ..., demands: _Optional[_Iterable[_Union[Demand, _Mapping]]] = ...) -> None: ...

class HeartbeatReply(_message.Message):
    __slots__ = ("known",)
    KNOWN_FIELD_NUMBER: _ClassVar[int]
    known: bool
    def __init__(self, known: _Optional[bool] = ...) -> None: ...

class UnregisterNodeRequest(_message.Message):
    __slots__ = ("node_id", "reason")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    reason: str
    def __init__(self, node_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ListNodesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListNodesReply(_message.Message):
    __slots__ = ("nodes",)
    NODES_FIELD_NUMBER: _ClassVar[int]
    nodes: _containers.RepeatedCompositeFieldContainer[Node]
    def __init__(self, nodes: _Optional[_Iterable[_Union[Node, _Mapping]]] = ...) -> None: ...

class Actor(_message.Message):
    __slots__ = ("actor_id", "name", "namespace", "class_name", "state", "node_id", "detached", "data", "num_restarts", "death_cause", "owner_node")
    ACTOR_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    CLASS_NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    DETACHED_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    NUM_RESTARTS_FIELD_NUMBER: _ClassVar[int]
    DEATH_CAUSE_FIELD_NUMBER: _ClassVar[int]
    OWNER_NODE_FIELD_NUMBER: _ClassVar[int]
    actor_id: bytes
    name: str
    namespace: str
    class_name: str
    state: str
    node_id: str
    detached: bool
    data: bytes
    num_restarts: int
    death_cause: str
    owner_node: str
    def __init__(self, actor_id: _Optional[bytes] = ..., name: _Optional[str] = ..., namespace: _Optional[str] = ..., class_name: _Optional[str] = ..., state: _Optional[str] = ..., node_id: _Optional[str] = ..., detached: _Optional[bool] = ..., data: _Optional[bytes] = ..., num_restarts: _Optional[int] = ..., death_cause: _Optional[str] = ..., owner_node: _Optional[str] = ...) -> None: ...

class RegisterActorRequest(_message.Message):
    __slots__ = ("actor", "get_if_exists")
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    GET_IF_EXISTS_FIELD_NUMBER: _ClassVar[int]
    actor: Actor
    get_if_exists: bool
    def __init__(self, actor: _Optional[_Union[Actor, _Mapping]] = ..., get_if_exists: _Optional[bool] = ...) -> None: ...

class RegisterActorReply(_message.Message):
    __slots__ = ("actor", "existed")
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    EXISTED_FIELD_NUMBER: _ClassVar[int]
    actor: Actor
    existed: bool
    def __init__(self, actor: _Optional[_Union[Actor, _Mapping]] = ..., existed: _Optional[bool] = ...) -> None: ...

class UpdateActorRequest(_message.Message):
    __slots__ = ("actor",)
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    actor: Actor
    def __init__(self, actor: _Optional[_Union[Actor, _Mapping]] = ...) -> None: ...

class UpdateActorReply(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetNamedActorRequest(_message.Message):
    __slots__ = ("name", "namespace")
    NAME_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    name: str
    namespace: str
    def __init__(self, name: _Optional[str] = ..., namespace: _Optional[str] = ...) -> None: ...

class GetNamedActorReply(_message.Message):
    __slots__ = ("actor", "found")
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    FOUND_FIELD_NUMBER: _ClassVar[int]
    actor: Actor
    found: bool
    def __init__(self, actor: _Optional[_Union[Actor, _Mapping]] = ..., found: _Optional[bool] = ...) -> None: ...

class GetActorRequest(_message.Message):
    __slots__ = ("actor_id",)
    ACTOR_ID_FIELD_NUMBER: _ClassVar[int]
    actor_id: bytes
    def __init__(self, actor_id: _Optional[bytes] = ...) -> None: ...

class ListActorsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListActorsReply(_message.Message):
    __slots__ = ("actors",)
    ACTORS_FIELD_NUMBER: _ClassVar[int]
    actors: _containers.RepeatedCompositeFieldContainer[Actor]
    def __init__(self, actors: _Optional[_Iterable[_Union[Actor, _Mapping]]] = ...) -> None: ...

class Job(_message.Message):
    __slots__ = ("job_id", "entrypoint", "status", "start_time", "end_time", "driver_pid", "namespace")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ENTRYPOINT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    DRIVER_PID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    entrypoint: str
    status: str
    start_time: float
    end_time: float
    driver_pid: int
    namespace: str
    def __init__(self, job_id: _Optional[str] = ..., entrypoint: _Optional[str] = ..., status: _Optional[str] = ..., start_time: _Optional[float] = ..., end_time: _Optional[float] = ..., driver_pid: _Optional[int] = ..., namespace: _Optional[str] = ...) -> None: ...

class AddJobRequest(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: Job
    def __init__(self, job: _Optional[_Union[Job, _Mapping]] = ...) -> None: ...

class AddJobReply(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class FinishJobRequest(_message.Message):
    __slots__ = ("job_id", "status")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    status: str
    def __init__(self, job_id: _Optional[str] = ..., status: _Optional[str] = ...) -> None: ...

class FinishJobReply(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListJobsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListJobsReply(_message.Message):
    __slots__ = ("jobs",)
    JOBS_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[Job]
    def __init__(self, jobs: _Optional[_Iterable[_Union[Job, _Mapping]]] = ...) -> None: ...

class Bundle(_message.Message):
    __slots__ = ("resources",)
    class ResourcesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    resources: _containers.ScalarMap[str, float]
    def __init__(self, resources: _Optional[_Mapping[str, float]] = ...) -> None: ...

class PlacementGroup(_message.Message):
    __slots__ = ("pg_id", "name", "strategy", "bundles", "state", "bundle_nodes", "detached")
    PG_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    BUNDLES_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    BUNDLE_NODES_FIELD_NUMBER: _ClassVar[int]
    DETACHED_FIELD_NUMBER: _ClassVar[int]
    pg_id: str
    name: str
    strategy: str
    bundles: _containers.RepeatedCompositeFieldContainer[Bundle]
    state: str
    bundle_nodes: _containers.RepeatedScalarFieldContainer[str]
    detached: bool
    def __init__(self, pg_id: _Optional[str] = ..., name: _Optional[str] = ..., strategy: _Optional[str] = ..., bundles: _Optional[_Iterable[_Union[Bundle, _Mapping]]] = ..., state: _Optional[str] = ..., bundle_nodes: _Optional[_Iterable[str]] = ..., detached: _Optional[bool] = ...) -> None: ...

class PutPlacementGroupRequest(_message.Message):
    __slots__ = ("pg",)
    PG_FIELD_NUMBER: _ClassVar[int]
    pg: PlacementGroup
    def __init__(self, pg: _Optional[_Union[PlacementGroup, _Mapping]] = ...) -> None: ...

class PutPlacementGroupReply(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListPlacementGroupsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListPlacementGroupsReply(_message.Message):
    __slots__ = ("pgs",)
    PGS_FIELD_NUMBER: _ClassVar[int]
    pgs: _containers.RepeatedCompositeFieldContainer[PlacementGroup]
    def __init__(self, pgs: _Optional[_Iterable[_Union[PlacementGroup, _Mapping]]] = ...) -> None: ...

class KVPutRequest(_message.Message):
    __slots__ = ("ns", "key", "value", "overwrite")
    NS_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    OVERWRITE_FIELD_NUMBER: _ClassVar[int]
    ns: str
    key: bytes
    value: bytes
    overwrite: bool
    def __init__(self, ns: _Optional[str] = ..., key: _Optional[bytes] = ..., value: _Optional[bytes] = ..., overwrite: _Optional[bool] = ...) -> None: ...

class KVPutReply(_message.Message):
    __slots__ = ("added",)
    ADDED_FIELD_NUMBER: _ClassVar[int]
    added: bool
    def __init__(self, added: _Optional[bool] = ...) -> None: ...

class KVGetRequest(_message.Message):
    __slots__ = ("ns", "key")
    NS_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    ns: str
    key: bytes
    def __init__(self, ns: _Optional[str] = ..., key: _Optional[bytes] = ...) -> None: ...

class KVGetReply(_message.Message):
    __slots__ = ("found", "value")
    FOUND_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    found: bool
    value: bytes
    def __init__(self, found: _Optional[bool] = ..., value: _Optional[bytes] = ...) -> None: ...

class KVDelRequest(_message.Message):
    __slots__ = ("ns", "key", "by_prefix")
    NS_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    BY_PREFIX_FIELD_NUMBER: _ClassVar[int]
    ns: str
    key: bytes
    by_prefix: bool
    def __init__(self, ns: _Optional[str] = ..., key: _Optional[bytes] = ..., by_prefix: _Optional[bool] = ...) -> None: ...

class KVDelReply(_message.Message):
    __slots__ = ("deleted",)
    DELETED_FIELD_NUMBER: _ClassVar[int]
    deleted: int
    def __init__(self, deleted: _Optional[int] = ...) -> None: ...

class KVKeysRequest(_message.Message):
    __slots__ = ("ns", "prefix")
    NS_FIELD_NUMBER: _ClassVar[int]
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    ns: str
    prefix: bytes
    def __init__(self, ns: _Optional[str] = ..., prefix: _Optional[bytes] = ...) -> None: ...

class KVKeysReply(_message.Message):
    __slots__ = ("keys",)
    KEYS_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, keys: _Optional[_Iterable[bytes]] = ...) -> None: ...

class SubscribeRequest(_message.Message):
    __slots__ = ("channels",)
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    channels: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, channels: _Optional[_Iterable[str]] = ...) -> None: ...

class PubMessage(_message.Message):
    __slots__ = ("channel", "key", "data")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    channel: str
    key: str
    data: bytes
    def __init__(self, channel: _Optional[str] = ..., key: _Optional[str] = ..., data: _Optional[bytes] = ...) -> None: ...
