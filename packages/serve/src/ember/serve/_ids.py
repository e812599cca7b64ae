"""Typed ids of deployments and replicas (Ray's DeploymentID and ReplicaID)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DeploymentID", "ReplicaID"]


@dataclass(frozen=True)
class DeploymentID:
    """A deployment of an application."""

    name: str
    app_name: str = "default"

    def __str__(self) -> str:
        return f"Deployment(name='{self.name}', app='{self.app_name}')"

    __repr__ = __str__


@dataclass(frozen=True)
class ReplicaID:
    """One replica of a deployment: `unique_id` is its id within the deployment."""

    unique_id: str
    deployment_id: DeploymentID

    def to_full_id_str(self) -> str:
        """"SERVE_REPLICA::app#deployment#id", as Ray writes it."""
        d = self.deployment_id
        return f"SERVE_REPLICA::{d.app_name}#{d.name}#{self.unique_id}"

    def __str__(self) -> str:
        d = self.deployment_id
        return f"Replica(id='{self.unique_id}', deployment='{d.name}', app='{d.app_name}')"

    __repr__ = __str__
