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


def run(script: list[str], cwd: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(script, capture_output=True, text=True, timeout=120, cwd=cwd)


def test_task_progress_bars_reach_the_driver():
    out = run([sys.executable, "-c", SCRIPT])
    assert out.returncode == 0, out.stderr
    assert "done [4, 4]" in out.stdout and "iterated 3" in out.stdout
    text = out.stdout + out.stderr
    for name in ("first bar", "second bar"):
        assert any(name in line and "4/4" in line for line in text.splitlines()), text
    assert "driver bar" in out.stderr


def test_works_when_a_module_named_tqdm_shadows_the_package(tmp_path):
    # Ray's own example is a file named tqdm.py, run from its directory.
    (tmp_path / "tqdm.py").write_text(SCRIPT.replace("first bar", "shadowed bar"))
    out = run([sys.executable, "tqdm.py"], cwd=str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "done [4, 4]" in out.stdout
    assert "shadowed bar" in out.stderr and "4/4" in out.stderr
