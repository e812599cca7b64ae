"""`ray._raylet`: Ray's documentation imports a few public classes from here
(`ObjectRefGenerator`, `ObjectRef`, the id classes); they are ember's. Any other name is
a stand-in."""

from __future__ import annotations

from _ray_compat.internal import module_getattr
from ember import DynamicObjectRefGenerator, ObjectRef, ObjectRefGenerator
from ember.ids import ActorID, JobID, NodeID, TaskID, UniqueID, WorkerID
from ember.util.placement_group import PlacementGroupID

ObjectID = ObjectRef
StreamingObjectRefGenerator = ObjectRefGenerator

__all__ = ["ActorID", "DynamicObjectRefGenerator", "JobID", "NodeID", "ObjectID", "ObjectRef",
           "ObjectRefGenerator", "PlacementGroupID", "StreamingObjectRefGenerator", "TaskID",
           "UniqueID", "WorkerID"]

__getattr__ = module_getattr("ray._raylet")
