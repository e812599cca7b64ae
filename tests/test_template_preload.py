"""The worker template of a driver's embedded cluster imports numpy only once the driver
has: an idle cluster of a program that never uses numpy holds none, and workers started
after the driver imported it get it without importing it themselves."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_workers_get_numpy_once_the_driver_has_imported_it():
    code = textwrap.dedent("""
        import sys, time
        import ember

        ember.init(num_cpus=1)

        @ember.remote(num_cpus=0)
        class Probe:
            def __init__(self):
                self.had = "numpy" in sys.modules  # before anything imported it here

            def had_numpy(self):
                return self.had

        time.sleep(0.5)  # the template has been idle: it used to import numpy by now
        # Two actors: the second is a fresh fork (the first may take the started worker).
        before = [Probe.remote(), Probe.remote()]
        print(any(ember.get([p.had_numpy.remote() for p in before])))
        import numpy  # noqa: F401
        print(ember.get(Probe.remote().had_numpy.remote()))
        ember.shutdown()
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["False", "True"]
