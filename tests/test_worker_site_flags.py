"""Workers keep the driver's interpreter flags -s (no user site) and -S (no site), as in
Ray, also when the worker template is started as a new interpreter."""

from __future__ import annotations

import os
import subprocess
import sys

DRIVER = """
import sys
import ember

@ember.remote
def flags():
    return sys.flags.no_site, sys.flags.no_user_site

ember.init(num_cpus=1)
print("FLAGS", ember.get(flags.remote()), (sys.flags.no_site, sys.flags.no_user_site))
ember.shutdown()
"""


def _run(*flags: str) -> str:
    env = dict(os.environ, EMBER_TEMPLATE_SPAWN="1")  # a new interpreter, not a fork
    out = subprocess.run([sys.executable, *flags, "-c", DRIVER], env=env, timeout=120,
                         capture_output=True, text=True, check=True).stdout
    return next(line for line in out.splitlines() if line.startswith("FLAGS"))


def test_workers_keep_the_drivers_no_user_site_flag():
    assert _run("-s") == "FLAGS (0, 1) (0, 1)"
    assert _run() == "FLAGS (0, 0) (0, 0)"
