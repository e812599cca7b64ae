"""Ids carry their job, as in Ray: `ObjectRef.job_id()`, `ObjectRef.task_id().job_id()`
and an actor handle's `_actor_id.job_id` equal the job's `get_job_id()`, in the driver,
inside tasks and actors (threads too), and on every node of a cluster."""

from __future__ import annotations

import threading

import pytest

import ember
from ember.cluster_utils import Cluster


def _remotes():
    """The task and actor of these tests, defined here so that they travel by value to
    nodes that cannot import this module."""

    @ember.remote
    def noop():
        return "bar"

    @ember.remote
    class Pinger:
        def ping(self):
            return "pong"

        def job_of_ids(self):
            return job_ids()

    def job_ids() -> dict[str, str]:
        """The job id as get_job_id() has it, and as every kind of id made here has it."""
        ref = noop.remote()
        put = ember.put(1)
        actor = Pinger.remote()
        call = actor.ping.remote()
        ember.get([ref, call])
        return {
            "context": ember.get_runtime_context().get_job_id(),
            "task_ref": ref.job_id().hex(),
            "task_id": ref.task_id().job_id().hex(),
            "put_ref": put.job_id().hex(),
            "actor": actor._actor_id.job_id.hex(),
            "actor_call": call.job_id().hex(),
        }

    @ember.remote
    def job_ids_in_task(in_thread: bool) -> dict[str, str]:
        if not in_thread:
            return job_ids()
        out: list = []
        t = threading.Thread(target=lambda: out.append(job_ids()))
        t.start()
        t.join()
        return out[0]

    return noop, Pinger, job_ids, job_ids_in_task


def _assert_all(job_hex: str, seen: dict[str, str]) -> None:
    assert seen == dict.fromkeys(seen, job_hex)


def test_ids_carry_the_job_in_driver_tasks_threads_and_actors(cluster):
    _, Pinger, job_ids, job_ids_in_task = _remotes()
    job = ember.get_runtime_context().get_job_id()
    assert len(job) == 8 and ember.JobID.from_hex(job).hex() == job
    _assert_all(job, job_ids())
    _assert_all(job, ember.get(job_ids_in_task.remote(False)))
    _assert_all(job, ember.get(job_ids_in_task.remote(True)))
    _assert_all(job, ember.get(Pinger.remote().job_of_ids.remote()))


def test_id_types_are_rays(cluster):
    noop, Pinger, _, _ = _remotes()
    ref = noop.remote()
    actor = Pinger.remote()
    assert isinstance(ref.task_id(), ember.TaskID) and isinstance(ref.job_id(), ember.JobID)
    assert isinstance(actor._actor_id, ember.ActorID) and len(actor._actor_id.binary()) == 16
    assert actor._actor_id.hex() == repr(actor).split(", ")[1].rstrip(")")
    assert ember.get(ref) == "bar"


@pytest.fixture
def two_node_cluster():
    ember.shutdown()  # the embedded cluster of the tests above
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    cluster.add_node(num_cpus=2)
    cluster.connect()
    yield cluster
    ember.shutdown()
    cluster.shutdown()


def test_tasks_on_another_node_see_the_attached_drivers_job(two_node_cluster):
    _, Pinger, job_ids, job_ids_in_task = _remotes()
    job = ember.get_runtime_context().get_job_id()
    _assert_all(job, job_ids())
    _assert_all(job, ember.get(job_ids_in_task.remote(False)))
    _assert_all(job, ember.get(Pinger.remote().job_of_ids.remote()))
