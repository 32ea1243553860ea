"""Sending a picture's original file: in chunks, a bounded number at once,
and by byte ranges (photo viewers ask for parts of large files).

An original can be 64 MB. Read whole for each request, 16 slow anonymous
readers held a gigabyte; sent in chunks, each reader holds one chunk and
the server's own socket buffer, and at most MAX_STREAMS files are open.
"""

from __future__ import annotations

import asyncio
import re
import weakref
from typing import BinaryIO

CHUNK_BYTES = 256 * 1024  # what one reader holds in memory at a time
MAX_STREAMS = 8  # originals one server sends at once; more wait for a free place
QUEUE_SECONDS = 10  # how long a request waits for a free place before a 503
RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")

_places: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def places(datasette) -> asyncio.Semaphore:
    """The places for originals of one Datasette instance."""
    if datasette not in _places:
        _places[datasette] = asyncio.Semaphore(MAX_STREAMS)
    return _places[datasette]


class Unsatisfiable(ValueError):
    """A Range header that asks for nothing inside the file."""


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) byte of a one-range `Range` header; None for the whole
    file (no header, several ranges, or a form this server ignores, as the
    HTTP standard allows); Unsatisfiable when it lies past the end."""
    match = RANGE.match((header or "").replace(" ", ""))
    if not match or match.group(1) == match.group(2) == "":
        return None
    first, last = match.groups()
    if first == "":  # the last N bytes
        if int(last) == 0:
            raise Unsatisfiable(header)
        return max(size - int(last), 0), size - 1
    if last != "" and int(last) < int(first):
        return None  # not a valid range: ignored
    if int(first) >= size:
        raise Unsatisfiable(header)
    return int(first), min(int(last), size - 1) if last != "" else size - 1


class FileStream:
    """An ASGI response that sends part or all of an open file in chunks,
    then closes it and frees its place; it stops early when the client
    goes away."""

    def __init__(
        self,
        handle: BinaryIO,
        first: int,
        last: int,
        status: int,
        headers: dict[str, str],
        receive,
        release,
    ):
        self.handle, self.first, self.last = handle, first, last
        self.status, self.headers = status, headers
        self.receive, self.release = receive, release

    async def asgi_send(self, send) -> None:
        gone = asyncio.Event()
        watcher = asyncio.create_task(self.watch(gone))
        try:
            headers = [(k.lower().encode(), v.encode()) for k, v in self.headers.items()]
            await send({"type": "http.response.start", "status": self.status, "headers": headers})
            await asyncio.to_thread(self.handle.seek, self.first)
            remaining = self.last - self.first + 1
            while remaining > 0 and not gone.is_set():
                chunk = await asyncio.to_thread(self.handle.read, min(CHUNK_BYTES, remaining))
                remaining = remaining - len(chunk) if chunk else 0  # a file cut short ends here
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            watcher.cancel()
            self.handle.close()
            self.release()

    async def watch(self, gone: asyncio.Event) -> None:
        """Set `gone` when the client disconnects."""
        while True:
            message = await self.receive()
            if message.get("type") == "http.disconnect":
                gone.set()
                return
