"""The proxy's HTTP/1.1 protocol: uvicorn's httptools protocol, with the writes of one
event-loop turn leaving in one send.

uvicorn writes a response's status line and headers, then each body message, as separate
sends: two packets and two system calls for the smallest response. The proxy gets a
response's messages from a replica together, so it joins them: what the protocol writes
during one loop turn goes out as one send at the end of the turn (and before a close).
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["CoalescingTransport", "coalescing_http_protocol"]


class CoalescingTransport:
    """Wraps an asyncio transport: `write` collects, one send per loop turn."""

    __slots__ = ("_transport", "_buf", "_scheduled", "_loop")

    def __init__(self, transport: Any) -> None:
        self._transport = transport
        self._buf: list[bytes] = []
        self._scheduled = False
        self._loop = asyncio.get_running_loop()

    def write(self, data: bytes) -> None:
        if not data:
            return
        self._buf.append(data)
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self.flush)

    def writelines(self, lines: Any) -> None:
        for data in lines:
            self.write(data)

    def flush(self) -> None:
        self._scheduled = False
        buf, self._buf = self._buf, []
        if buf and not self._transport.is_closing():
            self._transport.write(buf[0] if len(buf) == 1 else b"".join(buf))

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._buf))

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


_protocol_class: Any = None


def coalescing_http_protocol() -> type:
    """uvicorn's HttpToolsProtocol writing through a CoalescingTransport."""
    global _protocol_class
    if _protocol_class is None:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

        class CoalescingHttpToolsProtocol(HttpToolsProtocol):
            def connection_made(self, transport: Any) -> None:  # type: ignore[override]
                super().connection_made(CoalescingTransport(transport))

        _protocol_class = CoalescingHttpToolsProtocol
    return _protocol_class
