"""Builds and runs the C++ unit tests (native/src/**/*_test.cc) as one pytest test."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

NATIVE = Path(__file__).resolve().parent.parent / "native"


@pytest.mark.timeout(900)
def test_cpp_unit_tests_pass(tmp_path: Path) -> None:
    cmake = shutil.which("cmake")
    assert cmake, "cmake not found; it comes with the dev dependency group (uv sync)"
    build = tmp_path / "build"
    env = {**os.environ, "TMPDIR": str(tmp_path)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True)

    steps = [
        (
            cmake,
            "-S",
            str(NATIVE),
            "-B",
            str(build),
            "-DEMBER_BUILD_PYTHON=OFF",
            "-DCMAKE_BUILD_TYPE=Debug",  # unoptimised: builds in half the time, asserts on
        ),
        (cmake, "--build", str(build), "--target", "ember_native_tests", "-j2"),
        (str(build / "ember_native_tests"),),
    ]
    for step in steps:
        result = run(*step)
        output = result.stdout + result.stderr
        if result.returncode != 0:
            print(output)
        assert result.returncode == 0, f"{step[0]} exited {result.returncode}:\n{output[-8000:]}"
    assert " 0 failed" in output
