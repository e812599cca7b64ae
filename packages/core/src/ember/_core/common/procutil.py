"""Small process helpers: parent-death signals, memory readings, session directories."""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import stat
import tempfile
from functools import cache
from typing import Any

_PR_SET_PDEATHSIG = 1


@cache
def _libc() -> Any:
    """libc; loading it costs far more than a call, so once per process."""
    return ctypes.CDLL(None, use_errno=True)


def _prctl() -> Any:
    return _libc().prctl


def return_free_heap() -> None:
    """Give the heap's free pages back to the system (glibc's malloc_trim), so that
    processes forked from this one do not carry them; a no-op where libc lacks it."""
    try:
        _libc().malloc_trim(0)
    except (OSError, AttributeError):
        pass


def set_parent_death_signal(sig: int = signal.SIGKILL) -> None:
    """Ask the kernel to kill this process when its parent dies (Linux only)."""
    try:
        _prctl()(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(1)


_PR_SET_NAME = 15


def set_process_name(name: str) -> None:
    """Name the process as `ps -o comm` and /proc/<pid>/comm show it (15 chars max)."""
    try:
        _prctl()(_PR_SET_NAME, name.encode()[:15], 0, 0, 0)
    except (OSError, AttributeError):
        pass


_title = ""
_comm: str | None = None  # this process's name before the first title


def set_title(title: str) -> None:
    """Show `title` as this process's command line (`ps`, `top`, psutil's cmdline), as Ray
    shows `ray::f` for a worker running `f`; a no-op when it is already the title."""
    global _title
    if title == _title:
        return
    _title = title
    try:
        import setproctitle
    except ImportError:
        return
    global _comm
    if _comm is None:
        try:
            with open("/proc/self/comm") as f:
                _comm = f.read().strip()
        except OSError:
            _comm = ""
    setproctitle.setproctitle(title)
    if _comm:  # setproctitle renames the process too; `ps -o comm` keeps "ember-worker"
        set_process_name(_comm)


def node_ip(host: str) -> str:
    """The IP a node is known by: the address it binds, or this host's for a wildcard."""
    if host not in ("", "0.0.0.0", "::"):
        return host
    import socket

    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


def total_memory_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 8 << 30


def rss_bytes(pid: int) -> int:
    """Resident set size of a process, 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def pss_bytes(pid: int) -> int:
    """Proportional set size (shared pages split among their users), 0 if unknown."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def session_root() -> str:
    """Sessions and the running cluster's record live here, private to this user.

    `$EMBER_TMPDIR/ember` when that is set, else `<temp dir>/ember-<uid>`. The directory is created 0700 and refused (PermissionError)
    when someone else owns it or others may write to it: a planted cluster record would
    hand a driver's token to whoever planted it.
    """
    base = os.environ.get("EMBER_TMPDIR")
    if base:
        root = os.path.join(base, "ember")
    else:
        root = os.path.join(tempfile.gettempdir(), f"ember-{os.getuid()}")
    ensure_private_dir(root)
    return root


def ensure_private_dir(path: str) -> None:
    """Create `path` 0700 if missing; refuse one that another user owns or that group or
    others may write to."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        raise PermissionError(f"{path} is not a plain directory; remove it, or set "
                              "EMBER_TMPDIR to a directory of your own.")
    if st.st_uid != os.getuid():
        raise PermissionError(
            f"{path} belongs to user id {st.st_uid}, not to you ({os.getuid()}); ember will "
            "not trust a session directory someone else controls. Remove it, or set "
            "EMBER_TMPDIR to a directory of your own.")
    if st.st_mode & 0o022:
        raise PermissionError(
            f"{path} is writable by group or others (mode {stat.S_IMODE(st.st_mode):o}); "
            f"run `chmod 700 {path}`, or set EMBER_TMPDIR to a directory of your own.")


def new_session_dir() -> str:
    """Make this session's directory, first removing those whose owner process is gone."""
    root = session_root()
    for name in os.listdir(root):
        if not name.startswith("session_"):
            continue
        try:
            pid = int(name.rsplit("_", 1)[1])
        except ValueError:
            continue
        if not _alive(pid):
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)
    path = tempfile.mkdtemp(prefix="session_", suffix=f"_{os.getpid()}", dir=root)
    return path


def _alive(pid: int) -> bool:
    """True if the process exists and is not a zombie (a killed head nobody reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True
