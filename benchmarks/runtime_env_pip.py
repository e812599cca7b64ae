"""How long the first task of a pip runtime_env takes: a new environment (venv built,
package installed, ember import checked, its template started) and a cached one (a later
session: its template started), against the first task of the base environment.

    uv run python benchmarks/runtime_env_pip.py [--runs 5]

The environment pins cloudpickle (which ember itself imports) to another version, from a
wheel built here from the installed cloudpickle's source, installed with --no-index, so
nothing is downloaded; every run uses a fresh cache directory. ember only: Ray 2.60's
pip plugin needs pip in the driver's environment, and the reference venv has none.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import statistics
import tempfile
import time
import zipfile

import cloudpickle

import ember

PINNED = "3.0.0"


def build_wheel(dest: str) -> None:
    """A wheel of the installed cloudpickle's modules, claiming version PINNED."""
    src = os.path.dirname(cloudpickle.__file__)
    info = f"cloudpickle-{PINNED}.dist-info"
    files = {}
    for name in sorted(os.listdir(src)):
        if name.endswith(".py"):
            with open(os.path.join(src, name), "rb") as f:
                data = f.read()
            if name == "__init__.py":
                data = data.replace(cloudpickle.__version__.encode(), PINNED.encode())
            files[f"cloudpickle/{name}"] = data
    files[f"{info}/METADATA"] = f"Metadata-Version: 2.1\nName: cloudpickle\nVersion: {PINNED}\n".encode()
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: b\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    rec = [f"{n},sha256={base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b'=').decode()},{len(d)}"
           for n, d in files.items()] + [f"{info}/RECORD,,"]
    with zipfile.ZipFile(os.path.join(dest, f"cloudpickle-{PINNED}-py3-none-any.whl"), "w") as z:
        for n, d in files.items():
            z.writestr(n, d)
        z.writestr(f"{info}/RECORD", "\n".join(rec) + "\n")


@ember.remote
def version() -> str:
    import cloudpickle

    return cloudpickle.__version__


def first_task(env: dict | None) -> float:
    """Seconds to the first result of a task in `env`, in a new session."""
    ember.init(num_cpus=2)
    try:
        ember.get(version.remote())  # the base pool is warm, as in a running program
        start = time.perf_counter()
        got = ember.get(version.options(runtime_env=env).remote())
        took = time.perf_counter() - start
        assert env is None or got == PINNED, got
        return took
    finally:
        ember.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    rows: dict[str, list[float]] = {"new environment": [], "cached environment": [],
                                    "no runtime_env (warm pool, reference)": []}
    with tempfile.TemporaryDirectory() as tmp:
        wheels = os.path.join(tmp, "wheels")
        os.mkdir(wheels)
        build_wheel(wheels)
        env = {"pip": {"packages": [f"cloudpickle=={PINNED}"],
                       "pip_install_options": ["--no-index", "--find-links", wheels]}}
        for i in range(args.runs):
            os.environ["XDG_CACHE_HOME"] = os.path.join(tmp, f"cache{i}")
            rows["new environment"].append(first_task(env))
            rows["cached environment"].append(first_task(env))
            rows["no runtime_env (warm pool, reference)"].append(first_task(None))
    print(f"| first task ({args.runs} runs) | median s | min s |\n|---|---|---|")
    for name, xs in rows.items():
        print(f"| {name} | {statistics.median(xs):.3f} | {min(xs):.3f} |")


if __name__ == "__main__":
    main()
