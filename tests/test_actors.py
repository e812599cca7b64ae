"""Actors: state, ordering, names and namespaces, async and threaded actors, failures."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time

import pytest

import ember
from ember.exceptions import ActorDiedError, RayActorError

pytestmark = pytest.mark.usefixtures("cluster")


@ember.remote
class Counter:
    def __init__(self, start=0):
        self.n = start

    def add(self, k=1):
        self.n += k
        return self.n

    def pid(self):
        return os.getpid()

    def die(self):
        os.kill(os.getpid(), signal.SIGKILL)


def test_actor_keeps_state_and_orders_calls():
    c = Counter.remote(10)
    assert ember.get([c.add.remote() for _ in range(50)]) == list(range(11, 61))


def test_handles_can_be_passed_to_tasks():
    c = Counter.remote()

    @ember.remote
    def use(counter):
        return ember.get(counter.add.remote(5))

    assert ember.get(use.remote(c)) == 5
    assert ember.get(c.add.remote(0)) == 5


def test_named_actor_lookup_and_get_if_exists():
    a = Counter.options(name="shared-counter").remote(100)
    b = ember.get_actor("shared-counter")
    assert ember.get(b.add.remote()) == 101
    c = Counter.options(name="shared-counter", get_if_exists=True).remote(0)
    assert ember.get(c.add.remote()) == 102
    with pytest.raises(ValueError, match="is already taken. Please use a different name"):
        Counter.options(name="shared-counter").remote()
    with pytest.raises(ValueError, match="Failed to look up"):
        ember.get_actor("no-such-actor")
    del a


def test_namespaces_separate_names():
    keep = [Counter.options(name="ns-counter", namespace="one").remote(1),  # noqa: F841
            Counter.options(name="ns-counter", namespace="two").remote(2)]
    one = ember.get_actor("ns-counter", namespace="one")
    two = ember.get_actor("ns-counter", namespace="two")
    assert ember.get([one.add.remote(0), two.add.remote(0)]) == [1, 2]


def test_async_actor_runs_calls_concurrently():
    @ember.remote
    class Sleeper:
        async def nap(self, i):
            await asyncio.sleep(0.2)
            return i

    s = Sleeper.remote()
    start = time.perf_counter()
    assert ember.get([s.nap.remote(i) for i in range(20)]) == list(range(20))
    assert time.perf_counter() - start < 2.0  # 20 × 0.2 s serially would be 4 s


def test_threaded_actor_max_concurrency():
    @ember.remote(max_concurrency=4)
    class Threads:
        def __init__(self):
            self.barrier = threading.Barrier(4, timeout=10)

        def meet(self):
            self.barrier.wait()  # only passes if 4 calls run at once
            return threading.get_ident()

    t = Threads.remote()
    assert len(set(ember.get([t.meet.remote() for _ in range(4)]))) == 4


def test_concurrency_groups():
    @ember.remote(concurrency_groups={"io": 2})
    class Grouped:
        def __init__(self):
            self.barrier = threading.Barrier(2, timeout=10)

        @ember.method(concurrency_group="io")
        def io(self):
            self.barrier.wait()
            return "io"

        def compute(self):
            return "compute"

    g = Grouped.remote()
    assert ember.get([g.io.remote(), g.io.remote(), g.compute.remote()]) == ["io", "io", "compute"]


def test_await_refs_inside_async_actor():
    @ember.remote
    def value(x):
        return x + 1

    @ember.remote
    class Awaiter:
        async def run(self, n):
            return sum(await asyncio.gather(*[value.remote(i) for i in range(n)]))

    assert ember.get(Awaiter.remote().run.remote(10)) == sum(range(1, 11))


def test_constructor_error_kills_the_actor():
    @ember.remote
    class Broken:
        def __init__(self):
            raise ValueError("cannot start")

        def ping(self):
            return "pong"

    b = Broken.remote()
    with pytest.raises(ActorDiedError, match="cannot start"):
        ember.get(b.ping.remote())


def test_method_error_keeps_actor_alive():
    @ember.remote
    class Sometimes:
        def fail(self):
            raise KeyError("nope")

        def ok(self):
            return "ok"

    s = Sometimes.remote()
    with pytest.raises(KeyError):
        ember.get(s.fail.remote())
    assert ember.get(s.ok.remote()) == "ok"


def test_killed_actor_raises_actor_died():
    c = Counter.remote()
    ember.get(c.add.remote())
    ember.kill(c)
    with pytest.raises(ActorDiedError):
        ember.get(c.add.remote())
    assert issubclass(ActorDiedError, RayActorError)


def test_actor_restarts_after_its_process_dies():
    c = Counter.options(max_restarts=1).remote(0)
    first = ember.get(c.pid.remote())
    with pytest.raises(ActorDiedError):
        ember.get(c.die.remote())  # the call itself is not retried (max_task_retries=0)
    second = ember.get(c.pid.remote())
    assert first != second
    assert ember.get(c.add.remote()) == 1  # state rebuilt by __init__
    c.die.remote()
    with pytest.raises(ActorDiedError):  # out of restarts
        ember.get(c.pid.remote())


def test_calls_retried_across_restart_with_max_task_retries(tmp_path):
    marker = tmp_path / "died"

    @ember.remote(max_restarts=1, max_task_retries=1)
    class Fragile:
        def work(self, path):
            if not os.path.exists(path):
                open(path, "w").close()
                os.kill(os.getpid(), signal.SIGKILL)
            return "done"

    assert ember.get(Fragile.remote().work.remote(str(marker))) == "done"


def test_kill_with_restart_allowed_restarts():
    c = Counter.options(max_restarts=2).remote()
    pid = ember.get(c.pid.remote())
    ember.kill(c, no_restart=False)
    assert ember.get(c.pid.remote()) != pid


def test_actor_stops_when_its_handles_are_gone():
    c = Counter.remote()
    pid = ember.get(c.pid.remote())
    del c
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("actor process still alive after its last handle was dropped")


def test_exit_actor():
    @ember.remote
    class Quitter:
        def quit(self):
            ember.actor.exit_actor()

        def ping(self):
            return 1

    q = Quitter.remote()
    assert ember.get(q.ping.remote()) == 1
    with pytest.raises(ActorDiedError):
        ember.get(q.quit.remote())
    with pytest.raises(ActorDiedError, match="exit_actor"):
        ember.get(q.ping.remote())


def test_actor_method_num_returns_and_streaming():
    @ember.remote
    class Multi:
        @ember.method(num_returns=2)
        def pair(self):
            return 1, 2

        def stream(self, n):
            yield from range(n)

    m = Multi.remote()
    assert ember.get(m.pair.remote()) == [1, 2]
    assert [ember.get(r) for r in m.stream.remote(3)] == [0, 1, 2]


def test_actor_runtime_context():
    @ember.remote
    class Who:
        def me(self):
            return ember.get_runtime_context().get_actor_id()

    w = Who.remote()
    assert ember.get(w.me.remote()) == w._actor_id.hex()


def test_bad_actor_options_fail_at_call_site():
    with pytest.raises(ValueError, match="Invalid option"):
        Counter.options(num_retruns=1)
    with pytest.raises(ValueError, match="max_concurrency"):
        Counter.options(max_concurrency=0).remote()
    with pytest.raises(TypeError, match="directly"):
        Counter()
    with pytest.raises(AttributeError, match="no method"):
        _ = Counter.remote().nope


def test_actor_context_in_methods_and_in_threads_they_start():
    @ember.remote(num_cpus=0.5)
    class Ctx:
        def inside(self):
            c = ember.get_runtime_context()
            return c.get_assigned_resources(), c.get_actor_id()

        def in_thread(self):
            out = {}
            t = threading.Thread(target=lambda: out.update(
                aid=ember.get_runtime_context().get_actor_id()))
            t.start()
            t.join()
            return out["aid"]

    a = Ctx.remote()
    res, aid = ember.get(a.inside.remote())
    assert res == {"CPU": 0.5} and aid == a._actor_id.hex()
    assert ember.get(a.in_thread.remote()) == a._actor_id.hex()


def test_async_actor_survives_timeouts_and_stray_system_exit():
    @ember.remote
    def slow(s):
        time.sleep(s)
        return s

    @ember.remote
    class Robust:
        async def timed_out(self):
            try:
                await asyncio.wait_for(slow.remote(0.5), 0.05)
            except TimeoutError:
                return "timed out"

        async def stray_exit(self):
            async def bad():
                raise SystemExit(1)

            asyncio.get_running_loop().create_task(bad())
            await asyncio.sleep(0.05)
            return "spawned"

        async def ping(self):
            return "pong"

    r = Robust.remote()
    assert ember.get(r.timed_out.remote()) == "timed out"
    time.sleep(0.6)  # the abandoned result arrives; the actor must not mind
    assert ember.get(r.stray_exit.remote()) == "spawned"
    assert ember.get(r.ping.remote(), timeout=10) == "pong"


def test_methods_resolve_on_the_class_even_when_an_attribute_shadows_them(cluster):
    """As in Ray (test_auto_global_gc): `self.collected = False` does not hide the
    `collected` method from callers; static and class methods work too."""

    @ember.remote
    class Shadowed:
        kind = "class"

        def __init__(self):
            self.collected = False

        def collected(self):
            return self.collected

        @staticmethod
        def static(x):
            return x + 1

        @classmethod
        def which(cls):
            return cls.kind

    a = Shadowed.remote()
    assert ember.get(a.collected.remote()) is False
    assert ember.get(a.static.remote(1)) == 2
    assert ember.get(a.which.remote()) == "class"
    ember.kill(a)


def test_named_actors_stop_when_their_handles_are_gone(cluster):
    """As in Ray: a name does not keep a non-detached actor alive; detached ones stay."""

    @ember.remote
    class Named:
        def hello(self):
            return "hello"

    actor = Named.options(name="scoped-name").remote()
    assert ember.get(ember.get_actor("scoped-name").hello.remote()) == "hello"
    del actor
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            ember.get_actor("scoped-name")
        except ValueError:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the named actor outlived its last handle")
    kept = Named.options(name="kept-name", lifetime="detached").remote()
    ember.get(kept.hello.remote())
    del kept
    assert ember.get(ember.get_actor("kept-name").hello.remote()) == "hello"
    ember.kill(ember.get_actor("kept-name"))


@pytest.mark.parametrize("how", ["exit_actor", "__ray_terminate__"])
def test_graceful_actor_exit_runs_atexit_handlers(cluster, tmp_path, how):
    marker = tmp_path / "atexit-ran"

    @ember.remote
    class Cleaner:
        def __init__(self, path):
            import atexit

            atexit.register(lambda: open(path, "w").write("done"))

        def ready(self):
            return True

        def leave(self):
            ember.actor.exit_actor()

    a = Cleaner.remote(str(marker))
    assert ember.get(a.ready.remote())
    if how == "exit_actor":
        with pytest.raises(ember.exceptions.RayActorError):
            ember.get(a.leave.remote())
    else:
        a.__ray_terminate__.remote()
    deadline = time.monotonic() + 30
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.read_text() == "done"


def test_a_crashed_actor_keeps_its_name_while_handles_exist():
    @ember.remote(max_restarts=0)
    class Crashes:
        def pid(self):
            return os.getpid()

    a = Crashes.options(name="crashes").remote()
    os.kill(ember.get(a.pid.remote()), signal.SIGKILL)
    with pytest.raises(ActorDiedError):
        ember.get(a.pid.remote())
    with pytest.raises(ValueError, match="Please use a different name"):
        Crashes.options(name="crashes").remote()
    del a  # the last handle: the name is free again
    b = Crashes.options(name="crashes").remote()
    assert ember.get(ember.get_actor("crashes").pid.remote()) == ember.get(b.pid.remote())
    ember.kill(b)  # frees the name at once, handles or not
    c = Crashes.options(name="crashes").remote()
    assert ember.get(c.pid.remote()) > 0


def test_a_call_waiting_for_its_argument_holds_back_only_its_own_callers_calls(tmp_path):
    gate = tmp_path / "open"

    @ember.remote
    def slow_value(path):
        while not os.path.exists(path):
            time.sleep(0.01)
        return "slow"

    @ember.remote
    def call_from_a_task(actor, value):
        return ember.get(actor.echo.remote(value))

    @ember.remote
    class Echo:
        def echo(self, x):
            return x

    a = Echo.remote()
    waiting = a.echo.remote(slow_value.remote(str(gate)))  # the driver's call waits
    # Another caller's call with a ready argument is not stuck behind it (Ray orders
    # calls per caller), while the driver's own later call still is.
    assert ember.get(call_from_a_task.remote(a, "fast"), timeout=60) == "fast"
    later = a.echo.remote("after")
    assert ember.wait([later], timeout=0.2)[0] == []
    gate.touch()
    assert ember.get([waiting, later]) == ["slow", "after"]
