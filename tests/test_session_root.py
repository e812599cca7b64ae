"""The session root (cluster records, tokens' paths, session folders) is private to its
user: created 0700 and refused when someone else owns it or others may write to it."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest


def _init_in(tmp, code: str = "import ember; ember.init(num_cpus=1); ember.shutdown()"):
    env = dict(os.environ, TMPDIR=str(tmp))
    env.pop("EMBER_TMPDIR", None)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120)


def test_root_is_per_user_and_private(tmp_path):
    out = _init_in(tmp_path)
    assert out.returncode == 0, out.stderr
    root = tmp_path / f"ember-{os.getuid()}"
    st = os.stat(root)
    assert stat.S_IMODE(st.st_mode) == 0o700 and st.st_uid == os.getuid()


def test_root_writable_by_others_is_refused(tmp_path):
    root = tmp_path / f"ember-{os.getuid()}"
    root.mkdir()
    os.chmod(root, 0o777)
    out = _init_in(tmp_path)
    assert out.returncode != 0
    assert "writable by group or others" in out.stderr and "chmod 700" in out.stderr


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to give a directory away")
def test_root_owned_by_someone_else_is_refused(tmp_path):
    root = tmp_path / f"ember-{os.getuid()}"
    root.mkdir(mode=0o700)
    os.chown(root, 4242, 4242)
    out = _init_in(tmp_path)
    assert out.returncode != 0
    assert "belongs to user id 4242" in out.stderr


def test_a_symlink_root_is_refused(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    os.symlink(elsewhere, tmp_path / f"ember-{os.getuid()}")
    out = _init_in(tmp_path)
    assert out.returncode != 0
    assert "not a plain directory" in out.stderr
