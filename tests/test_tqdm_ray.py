"""ember.experimental.tqdm_ray: a task's progress bar reaches the driver's output."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import ember
    from ember.experimental.tqdm_ray import tqdm

    ember.init(num_cpus=1)

    @ember.remote
    def work(name):
        bar = tqdm(total=4, desc=name, flush_interval_s=0)
        for _ in range(4):
            bar.update(1)
        bar.close()
        return bar.n

    print("done", ember.get([work.remote("first bar"), work.remote("second bar")]))
    print("iterated", sum(tqdm(range(3), desc="driver bar")))
    ember.shutdown()
""")


def test_task_progress_bars_reach_the_driver():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert "done [4, 4]" in out.stdout and "iterated 3" in out.stdout
    text = out.stdout + out.stderr
    for name in ("first bar", "second bar"):
        assert any(name in line and "4/4" in line for line in text.splitlines()), text
    assert "driver bar" in out.stderr
