"""Stands for `ray.train.tests.util`: the checkpoint helpers Ray's Train and Tune tests
use, over ember's public Checkpoint API; any other name is a stand-in."""

from __future__ import annotations

import contextlib
import os
import pickle
import tempfile
from typing import Any

from _ray_compat.internal import module_getattr


@contextlib.contextmanager
def create_dict_checkpoint(data: dict[str, Any], checkpoint_cls: Any = None):
    """A checkpoint (a temporary directory) holding `data` pickled."""
    from ember.train import Checkpoint

    with tempfile.TemporaryDirectory() as tmpdir:
        with open(os.path.join(tmpdir, "data.pkl"), "wb") as f:
            pickle.dump(data, f)
        yield (checkpoint_cls or Checkpoint).from_directory(tmpdir)


def load_dict_checkpoint(checkpoint: Any) -> dict[str, Any]:
    with checkpoint.as_directory() as checkpoint_dir:
        with open(os.path.join(checkpoint_dir, "data.pkl"), "rb") as f:
            return pickle.load(f)


__getattr__ = module_getattr("ray.train.tests.util")
