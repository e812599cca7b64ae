"""Learner connector pieces."""
