"""Distributed training with Ray Train's API (work in progress)."""
