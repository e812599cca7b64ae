"""Cluster services: the control store (GCS) on the head node, its storage and clients."""
