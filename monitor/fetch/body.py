"""A response body read within bounds: decoded (gzip, deflate) a bounded slice at a time,
so a compression bomb is cut off at ``max_bytes`` of decoded content without ever holding
more than that; the bytes on the wire counted for the deadline's message."""

from __future__ import annotations

import asyncio
import zlib

import httpx

from monitor.errors import FetchError, FetchTooLarge


class Progress:
    """What the deadline message needs to know: bytes read so far, and the deadline."""

    def __init__(self) -> None:
        self.received = 0
        self.deadline: asyncio.Timeout | None = None
        self._started = False

    def start(self, seconds: float) -> None:
        if not self._started and self.deadline is not None:
            self._started = True
            self.deadline.reschedule(asyncio.get_running_loop().time() + seconds)


class _Decoder:
    """Content-Encoding decoder that never produces more than asked for in one step.

    Handles identity, gzip (including several concatenated members) and deflate (zlib
    wrapped or raw, both seen in the wild)."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._z: zlib._Decompress | None = None
        self._pending = b""
        self._started = False  # any output yet
        self._member_done = False  # a whole gzip member was decoded
        if encoding in ("gzip", "x-gzip"):
            self._wbits = 16 + zlib.MAX_WBITS
        elif encoding == "deflate":
            self._wbits = zlib.MAX_WBITS
        elif encoding in ("", "identity"):
            self._wbits = 0
        else:
            raise FetchError(f"unsupported Content-Encoding {encoding[:40]!r}")
        if self._wbits:
            self._z = zlib.decompressobj(self._wbits)

    def feed(self, chunk: bytes, room: int) -> bytes:
        """Decode ``chunk``; return at most ``room + 1`` bytes (one more means too large)."""
        if self._z is None:
            return b"" if self._member_done else chunk[: room + 1]
        out: list[bytes] = []
        size = 0
        data = self._pending + chunk
        self._pending = b""
        try:
            while data and size <= room:
                piece = self._z.decompress(data, room + 1 - size)
                out.append(piece)
                size += len(piece)
                self._started = self._started or bool(piece)
                if self._z.unconsumed_tail:
                    data = self._z.unconsumed_tail
                elif self._z.eof:
                    # another gzip member may follow the first
                    data = self._z.unused_data
                    self._z = zlib.decompressobj(self._wbits)
                    self._member_done = True
                else:
                    data = b""
        except zlib.error as exc:
            if self._member_done:
                # junk after a complete member: some servers pad; what we have is whole
                self._z, self._pending = None, b""
                self._wbits = 0
                return b"".join(out)
            if self.encoding == "deflate" and self._wbits > 0 and not self._started:
                # a "deflate" body without the zlib wrapper: start again as raw deflate
                self._wbits = -zlib.MAX_WBITS
                self._z = zlib.decompressobj(self._wbits)
                return self.feed(chunk, room)
            raise FetchError(f"body is not valid {self.encoding}: {exc}") from None
        self._pending = data
        return b"".join(out)


async def read_body(
    response: httpx.Response,
    headers: dict[str, str],
    max_bytes: int,
    progress: Progress,
) -> bytes:
    encoding = headers.get("content-encoding", "").strip().lower()
    decoder = _Decoder(encoding)
    parts: list[bytes] = []
    size = 0
    async for raw in response.aiter_raw():
        progress.received += len(raw)
        piece = decoder.feed(raw, max_bytes - size)
        size += len(piece)
        if size > max_bytes:
            raise FetchTooLarge(
                f"body passed {max_bytes} bytes decoded "
                f"(after {progress.received} bytes on the wire)"
            )
        parts.append(piece)
    return b"".join(parts)
