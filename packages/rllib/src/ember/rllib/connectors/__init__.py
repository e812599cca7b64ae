"""Connector pipelines (RLlib's ConnectorV2)."""

from ember.rllib.connectors.connector_v2 import ConnectorPipelineV2, ConnectorV2

__all__ = ["ConnectorPipelineV2", "ConnectorV2"]
