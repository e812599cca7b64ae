"""Shared-memory channels of compiled graphs (Ray's `ray.experimental.channel`).

A channel carries messages from one writer process to one reader process of the same
node. It is two files in a directory private to the graph (mode 0700, on /dev/shm where
there is one):

- `<name>.buf`, mapped by both sides: a header (the reader's sequence number, a closed
  flag and the writer's sequence number) and `slots` fixed slots of `slot_bytes` each.
  The writer copies message `n` into slot `n % slots`; the reader reads it in place. A message larger than a slot goes to a
  file of its own, `<name>.<sequence number>`, which the slot only flags (the reader
  derives the name, reads and unlinks it).
- `<name>.bell`, a named FIFO, the doorbell: the writer writes one byte after each
  message. The reader counts the bytes it has read as messages it may take, so it never
  reads a slot before the writer finished it (the pipe orders the two), and blocks in
  `poll()` on the FIFO (and on pidfds of processes it watches) only when it has none.

No node-manager round trip and no socket is on the path: a message costs a copy into
shared memory, one `write()` and, on the reading side, one `poll()` + `read()`.
The writer waits for a free slot only if the reader fell `slots` messages behind, which a
compiled graph's in-flight limit prevents.

A reader given `spin_s` first watches the writer's sequence number in the header for up
to that long before it blocks, yielding its core between looks to any process that wants
it (`ember._core.common.spin`, which also says when it stops trying): a reader still on
its core takes the message without being woken, which costs 10–25 µs a hop on a virtual
machine. The writer publishes that number only after its doorbell byte, so a reader that
saw it reads the byte without blocking.
"""

from __future__ import annotations

import mmap
import os
import select
import struct
import tempfile
import time
from dataclasses import dataclass

from ember._core.common.spin import Spinner

__all__ = ["ChannelClosed", "ChannelReader", "ChannelSpec", "ChannelWriter", "PeerDied",
           "close_channel", "create_channel", "new_channel_dir"]

_SEQ = struct.Struct("<Q")  # header byte 0: the reader's sequence number; 16: the writer's
_READ_SEQ_AT, _WRITE_SEQ_AT = 0, 16  # byte 8: the closed flag
_HEADER_BYTES = 64
_SLOT = struct.Struct("<QB")  # payload length, kind
_SLOT_HEADER = 16
OVERFLOW = 0x80  # kind bit: the message is in the file `<path>.<its sequence number>`


class ChannelClosed(Exception):
    """The channel was closed (its graph was torn down)."""


class PeerDied(Exception):
    """A watched process exited while waiting; `fd` is the pidfd (or pid) that fired."""

    def __init__(self, fd: int) -> None:
        super().__init__(fd)
        self.fd = fd


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    """Where a channel lives and its shape; what both ends need to open it."""

    path: str
    slots: int
    slot_bytes: int

    @property
    def size(self) -> int:
        return _HEADER_BYTES + self.slots * (_SLOT_HEADER + self.slot_bytes)


def new_channel_dir() -> str:
    """A fresh directory, owner-only, for one graph's channels (on /dev/shm if usable).
    Directories left by drivers that died without tearing down are removed first."""
    base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else tempfile.gettempdir()
    _remove_stale(base)
    return tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-", dir=base)


_PREFIX = "ember-cgraph-"


def _remove_stale(base: str) -> None:
    import shutil

    try:
        names = os.listdir(base)
    except OSError:
        return
    for name in names:
        pid = name[len(_PREFIX):].split("-", 1)[0]
        if not name.startswith(_PREFIX) or not pid.isdigit():
            continue
        path = os.path.join(base, name)
        try:
            if os.stat(path).st_uid != os.getuid():
                continue
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except OSError:
            continue


def create_channel(directory: str, name: str, slots: int, slot_bytes: int) -> ChannelSpec:
    """Create a channel's buffer (sparse: pages cost memory once written) and doorbell."""
    spec = ChannelSpec(os.path.join(directory, name), slots, slot_bytes)
    fd = os.open(spec.path + ".buf", os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.ftruncate(fd, spec.size)
    finally:
        os.close(fd)
    os.mkfifo(spec.path + ".bell", 0o600)
    return spec


def close_channel(spec: ChannelSpec) -> None:
    """Mark a channel closed and ring its doorbell, waking a reader blocked on it."""
    try:
        fd = os.open(spec.path + ".buf", os.O_RDWR)
    except OSError:
        return
    try:
        with mmap.mmap(fd, _HEADER_BYTES) as mm:
            mm[8] = 1
    finally:
        os.close(fd)
    _ring(spec)


def _ring(spec: ChannelSpec) -> None:
    try:
        bell = os.open(spec.path + ".bell", os.O_RDWR | os.O_NONBLOCK)
    except OSError:
        return
    try:
        os.write(bell, b"\0")
    except BlockingIOError:
        pass
    finally:
        os.close(bell)


class _End:
    """What both ends hold: the mapped buffer and the doorbell."""

    def __init__(self, spec: ChannelSpec, bell_flags: int) -> None:
        self.spec = spec
        fd = os.open(spec.path + ".buf", os.O_RDWR)
        try:
            self._mm = mmap.mmap(fd, spec.size)
        finally:
            os.close(fd)
        self._mv = memoryview(self._mm)
        self._bell = os.open(spec.path + ".bell", os.O_RDWR | bell_flags)
        self._stride = _SLOT_HEADER + spec.slot_bytes
        self._seq = 0

    @property
    def closed(self) -> bool:
        return self._mm[8] != 0

    def close(self) -> None:
        """Unmap and close this end (the files stay until the graph removes them)."""
        if self._bell < 0:
            return
        os.close(self._bell)
        self._bell = -1
        self._mv.release()
        self._mm.close()


class ChannelWriter(_End):
    """The writing end: `write(kind, payload)` copies one message in and rings."""

    def __init__(self, spec: ChannelSpec) -> None:
        super().__init__(spec, os.O_NONBLOCK)

    def write(self, kind: int, payload: bytes, timeout: float | None = None) -> None:
        """Write one message; waits (up to `timeout` s) only while every slot is unread.
        Raises ChannelClosed if the channel is closed, TimeoutError past the timeout."""
        spec = self.spec
        if self._seq - _SEQ.unpack_from(self._mm, _READ_SEQ_AT)[0] >= spec.slots:
            self._wait_for_slot(timeout)
        if len(payload) > spec.slot_bytes:
            name = f"{spec.path}.{self._seq}"
            with open(name, "wb", opener=lambda p, f: os.open(p, f, 0o600)) as f:
                f.write(payload)
            payload, kind = b"", kind | OVERFLOW
        off = _HEADER_BYTES + (self._seq % spec.slots) * self._stride
        n = len(payload)
        self._mv[off + _SLOT_HEADER:off + _SLOT_HEADER + n] = payload
        _SLOT.pack_into(self._mm, off, n, kind)
        self._seq += 1
        try:
            os.write(self._bell, b"\0")
        except BlockingIOError:  # the reader has thousands of rings pending already
            pass
        _SEQ.pack_into(self._mm, _WRITE_SEQ_AT, self._seq)  # after the ring

    def _wait_for_slot(self, timeout: float | None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 1e-5
        while self._seq - _SEQ.unpack_from(self._mm, _READ_SEQ_AT)[0] >= self.spec.slots:
            if self.closed:
                raise ChannelClosed(self.spec.path)
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError("no free slot in the channel")
            time.sleep(delay)
            delay = min(delay * 2, 1e-3)


class ChannelReader(_End):
    """The reading end: `read()` returns the next message's (kind, payload)."""

    def __init__(self, spec: ChannelSpec, watch: tuple[int, ...] = (),
                 spin_s: float = 0.0) -> None:
        super().__init__(spec, 0)
        self._spinner = Spinner(spin_s, yielding=True)
        self._credits = 0
        self._poll = select.poll()
        self._poll.register(self._bell, select.POLLIN)
        self._watch = frozenset(watch)
        for fd in watch:
            self._poll.register(fd, select.POLLIN)

    def read(self, timeout: float | None = None) -> tuple[int, bytes]:
        """The next message. Raises TimeoutError after `timeout` s (None: no limit),
        ChannelClosed once the channel is closed, PeerDied if a watched fd fires."""
        if self._credits == 0 and self._spinner.limit_s:
            # Once the writer's number is past ours its doorbell byte is in the pipe
            # already, so the read below does not block.
            mm, seq, unpack = self._mm, self._seq, _SEQ.unpack_from
            self._spinner.spin(lambda: unpack(mm, _WRITE_SEQ_AT)[0] > seq)
        while self._credits == 0:
            if timeout is None and not self._watch:  # nothing else to wait for
                self._credits += len(os.read(self._bell, 65536))
                continue
            self._wait(timeout)
        if self.closed:
            raise ChannelClosed(self.spec.path)
        off = _HEADER_BYTES + (self._seq % self.spec.slots) * self._stride
        n, kind = _SLOT.unpack_from(self._mm, off)
        if n > self.spec.slot_bytes:  # only a writer that broke the format writes this
            raise ValueError(f"channel {self.spec.path}: a slot claims {n} bytes, over its "
                             f"{self.spec.slot_bytes}")
        payload = bytes(self._mv[off + _SLOT_HEADER:off + _SLOT_HEADER + n])
        self._seq += 1
        self._credits -= 1
        _SEQ.pack_into(self._mm, _READ_SEQ_AT, self._seq)
        if kind & OVERFLOW:
            name = f"{self.spec.path}.{self._seq - 1}"
            with open(name, "rb") as f:
                payload = f.read()
            os.unlink(name)
            kind &= ~OVERFLOW
        return kind, payload

    def _wait(self, timeout: float | None) -> None:
        ms = -1 if timeout is None else max(0, int(timeout * 1000 + 0.999))
        while True:
            if self.closed:
                raise ChannelClosed(self.spec.path)
            events = self._poll.poll(ms)
            if not events:
                raise TimeoutError("no message in the channel in time")
            for fd, _ in events:
                if fd == self._bell:
                    self._credits += len(os.read(self._bell, 65536))
            if self._credits:
                return
            for fd, _ in events:
                if fd in self._watch:
                    raise PeerDied(fd)
