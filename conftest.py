"""Settings for every test process: each pytest-xdist worker gets a session root of its
own, so that clusters started by tests running side by side never find each other."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator

import pytest

_OWN_ROOT: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker and "EMBER_TMPDIR" not in os.environ:
        root = tempfile.mkdtemp(prefix=f"ember-tests-{worker}-")
        os.environ["EMBER_TMPDIR"] = root
        _OWN_ROOT.append(root)


def pytest_unconfigure(config: pytest.Config) -> None:
    for root in _OWN_ROOT:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module", autouse=True)
def _module_leaves_ember_shut_down(request: pytest.FixtureRequest) -> Iterator[None]:
    """Test files run in any order in a worker: one that leaves ember initialized is an
    error of that file (and ember is shut down for the next one)."""
    yield
    ember = sys.modules.get("ember")
    if ember is not None and ember.is_initialized():
        ember.shutdown()
        pytest.fail(f"{request.module.__name__} left ember initialized; shut it down in "
                    "the fixture or test that started it")
