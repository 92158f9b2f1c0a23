"""Splits a raw WARC byte stream into records without trusting it, so damage is counted
and skipped instead of ending the file.

Both WARC libraries stop at (or silently pass on) a truncated gzip member or a broken
header. This layer does the framing itself: zlib per gzip member (CRC-checked), records cut
by their WARC Content-Length, resynchronisation on the next gzip member or `WARC/` line.
An engine (fastwarc or warcio) then parses each intact record's bytes.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from typing import BinaryIO, Generator, Iterator

try:  # ISA-L inflates about twice as fast as zlib, with the same streaming API
    from isal import isal_zlib as _inflate_lib

    _INFLATE_ERRORS: tuple[type[Exception], ...] = (_inflate_lib.error, zlib.error)
except ImportError:  # pragma: no cover - depends on the environment
    _inflate_lib = zlib
    _INFLATE_ERRORS = (zlib.error,)

GZIP_MAGIC = b"\x1f\x8b\x08"
WARC_MAGIC = b"WARC/"
READ_SIZE = 1 << 20  # raw bytes per read from the input stream
FEED_SIZE = 1 << 15  # compressed bytes handed to zlib at a time
OUTPUT_STEP = 1 << 20  # most bytes one zlib call may produce (bounds gzip bombs)
MAX_HEADER_BYTES = 1 << 16  # a WARC header block longer than this is broken
RESYNC_WINDOW = 1 << 23  # raw bytes kept behind the read position inside one long gzip member
_HEADER_END = b"\r\n\r\n"
_CONTENT_LENGTH = re.compile(rb"^content-length[ \t]*:[ \t]*(\d+)[ \t]*\r?$", re.I | re.M)
# version line, then "Name: value" or continuation lines, all CRLF-terminated, then a blank line
_WELL_FORMED_HEADER = re.compile(rb"WARC/[0-9.]+\r\n(?:(?:[^\r\n:]+:|[ \t])[^\r\n]*\r\n)*\r\n")


@dataclass
class Frame:
    """One record's raw bytes (WARC header block + content block) or one damaged stretch.

    `problem` is None for an intact record, else the reason the stretch yields nothing:
    truncated, broken_record, not_warc, empty_file or io_error. `complete` is False when
    the content block was longer than the cap and only its first `cap` bytes were kept.
    """

    offset: int
    data: bytes = b""
    complete: bool = True
    problem: str | None = None


class _RawWindow:
    """Buffered view of the raw stream; positions are absolute offsets in the file."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.buf = bytearray()
        self.base = 0
        self.end = 0  # base + len(buf)
        self.eof = False
        self.io_error = False

    def fill(self, upto: int) -> bool:
        """Read until the window reaches `upto`; False if the stream ended first."""
        while self.end < upto and not self.eof:
            try:
                chunk = self.stream.read(READ_SIZE)
            except Exception:  # open_input already retried transient errors: stop here
                chunk = b""
                self.io_error = True
            if not chunk:
                self.eof = True
                break
            self.buf += chunk
            self.end += len(chunk)
        return self.end >= upto

    def slice(self, start: int, stop: int) -> bytes:
        if stop > self.end:
            self.fill(stop)
        lo = max(start - self.base, 0)
        with memoryview(self.buf) as view:
            return bytes(view[lo : max(stop - self.base, lo)])

    def starts_with(self, prefix: bytes, pos: int) -> bool:
        self.fill(pos + len(prefix))
        return self.buf.startswith(prefix, pos - self.base)

    def release_before(self, pos: int) -> None:
        """Drop the bytes before `pos`: they will not be looked at again."""
        target = min(pos, self.end)
        if target > self.base:
            del self.buf[: target - self.base]
            self.base = target

    def find(self, needle: bytes, start: int) -> int:
        """Absolute offset of `needle` at or after `start`, reading on as needed; -1 if none."""
        start = max(start, self.base)
        while True:
            hit = self.buf.find(needle, start - self.base)
            if hit >= 0:
                return self.base + hit
            if not self.fill(self.end + 1):
                return -1
            start = max(self.base, self.end - READ_SIZE - len(needle))


class _RecordSplitter:
    """Cuts records out of one decompressed stretch by their WARC Content-Length.

    A stretch is one gzip member (its records all get the member's offset) or a whole
    uncompressed file (records get their exact offsets). A finished record is held until
    what follows confirms it: the next valid header, or the stretch ending intact. So a
    member that fails its CRC, whose bytes may have decoded to garbage, yields exactly one
    `truncated` and nothing else. Junk between records (a broken header) is skipped up to
    the next line that starts with `WARC/` and counted once as `broken_record`.
    """

    _RESUME = b"\n" + WARC_MAGIC

    def __init__(self, origin: int, cap: int, exact_offsets: bool, first_in_file: bool) -> None:
        self.origin = origin
        self.cap = cap
        self.exact = exact_offsets
        self.first_in_file = first_in_file
        self.pos = 0  # bytes of the stretch before the current `feed` chunk
        self.header = bytearray()
        self.in_header = False
        self.record_start = 0
        self.body: list[bytes] = []
        self.kept = 0
        self.length = 0
        self.remaining = -1  # content bytes still expected; -1 when not inside a body
        self.pending: Frame | None = None  # a finished record waiting for confirmation
        self.junk_at: int | None = None  # offset of unconfirmed junk after `pending`
        self.skipping = False
        self.skip_tail = b""
        self.not_warc = False  # the stretch is the first of the file and is no WARC

    def _offset(self, start: int) -> int:
        return self.origin + (start if self.exact else 0)

    def feed(self, data: bytes) -> Iterator[Frame]:
        i, n = 0, len(data)
        if self.not_warc:
            return
        while i < n and not self.not_warc:
            if self.skipping:
                i = self._skip(data, i)
            elif self.remaining >= 0:
                i = self._take_body(data, i)
            elif self.in_header:
                i, length = self._take_header(data, i)
                if length is not None:
                    yield from self._confirm()
                    self._start_body(length)
            else:  # between records: CR/LF padding is normal, anything else starts a header
                while i < n and data[i] in b"\r\n":
                    i += 1
                if i < n:
                    self.in_header = True
                    self.record_start = self.pos + i
        if self.not_warc:
            yield Frame(offset=self.origin, problem="not_warc")
        self.pos += n

    def _confirm(self) -> Iterator[Frame]:
        """What came before the header just parsed is confirmed: release it."""
        if self.pending is not None:
            yield self.pending
        if self.junk_at is not None:
            yield Frame(offset=self.junk_at, problem="broken_record")
        self.pending, self.junk_at = None, None
        self.first_in_file = False

    def _take_body(self, data: bytes, i: int) -> int:
        take = min(self.remaining, len(data) - i)
        room = min(take, self.cap - self.kept)
        if room > 0:
            self.body.append(data[i : i + room])
            self.kept += room
        self.remaining -= take
        if self.remaining == 0:
            self.pending = Frame(
                offset=self._offset(self.record_start),
                data=bytes(self.header) + b"".join(self.body),
                complete=self.kept == self.length,
            )
            self.header = bytearray()
            self.body = []
            self.remaining = -1
        return i + take

    def _take_header(self, data: bytes, i: int) -> tuple[int, int | None]:
        """Collect header bytes up to the blank line: (bytes consumed, Content-Length or None)."""
        before = len(self.header)
        stop = -1
        if before:  # the blank line may straddle the previous chunk
            tail = bytes(self.header[-3:])
            k = (tail + data[i : i + 3]).find(_HEADER_END)
            if k >= 0:
                stop = i + k + len(_HEADER_END) - len(tail)
        if stop < 0:
            end = data.find(_HEADER_END, i, i + MAX_HEADER_BYTES)
            stop = end + len(_HEADER_END) if end >= 0 else -1
        self.header += data[i : stop if stop >= 0 else i + MAX_HEADER_BYTES]
        if len(self.header) >= len(WARC_MAGIC) and not self.header.startswith(WARC_MAGIC):
            return self._junk(i, no_warc_magic=True), None
        if stop < 0:
            return (self._junk(i) if len(self.header) >= MAX_HEADER_BYTES else len(data)), None
        match = _CONTENT_LENGTH.search(self.header)
        if match is None or _WELL_FORMED_HEADER.fullmatch(self.header) is None:
            return self._junk(i), None
        return stop, int(match.group(1))

    def _start_body(self, length: int) -> None:
        self.in_header = False
        self.length = self.remaining = length
        self.body, self.kept = [], 0
        if length == 0:
            self._take_body(b"", 0)

    def _junk(self, i: int, no_warc_magic: bool = False) -> int:
        """The header being read is broken: skip to the next line that starts with `WARC/`."""
        if no_warc_magic and self.first_in_file and self.pending is None:
            self.not_warc = True
        if self.junk_at is None:
            self.junk_at = self._offset(self.record_start)
        self.header = bytearray()
        self.in_header = False
        self.skipping = True
        self.skip_tail = b""
        return i

    def _skip(self, data: bytes, i: int) -> int:
        probe = self.skip_tail + data[i:]
        hit = probe.find(self._RESUME)
        if hit < 0:
            self.skip_tail = probe[-(len(self._RESUME) - 1) :]
            return len(data)
        start = hit + 1 - len(self.skip_tail)  # where `WARC/` begins, relative to data[i]
        self.skipping = False
        self.in_header = True
        if start < 0:  # it began in the previous chunk: carry those bytes over
            self.header = bytearray(self.skip_tail[start:])
            self.record_start = self.pos + i + start
            return i
        self.record_start = self.pos + i + start
        return i + start

    def end_intact(self) -> Iterator[Frame]:
        """The stretch ended intact (gzip CRC good, or end of an uncompressed file)."""
        if self.not_warc:
            return
        yield from self._confirm()
        if self.remaining >= 0 or self.in_header:
            yield Frame(offset=self._offset(self.record_start), problem="truncated")

    def end_damaged(self) -> Iterator[Frame]:
        """The stretch broke off (bad deflate data, CRC mismatch, or EOF inside a member)."""
        if self.not_warc:
            return
        offset = self.pending.offset if self.pending is not None else self._offset(self.record_start)
        self.pending, self.junk_at = None, None
        yield Frame(offset=offset, problem="truncated")


def split_frames(stream: BinaryIO, cap: int) -> Iterator[Frame]:
    """One Frame per record (or per damaged stretch) of a gzip or uncompressed WARC stream.

    Streams: reads 1 MiB at a time and keeps at most `cap` content bytes of a record, so
    memory stays flat on huge records and whole-file-gzip WARCs.
    """
    window = _RawWindow(stream)
    head = window.slice(0, len(WARC_MAGIC))
    if not head:
        yield Frame(offset=0, problem="io_error" if window.io_error else "empty_file")
        return
    if head.startswith(GZIP_MAGIC):
        yield from _gzip_frames(window, cap)
    elif head.startswith(WARC_MAGIC):
        yield from _plain_frames(window, cap)
    else:
        yield Frame(offset=0, problem="not_warc")
    if window.io_error:
        yield Frame(offset=window.end, problem="io_error")


def _plain_frames(window: _RawWindow, cap: int) -> Iterator[Frame]:
    splitter = _RecordSplitter(0, cap, exact_offsets=True, first_in_file=False)
    pos = 0
    while window.fill(pos + 1):
        chunk = window.slice(pos, window.end)
        pos += len(chunk)
        window.release_before(pos)
        yield from splitter.feed(chunk)
    yield from splitter.end_intact()


def _gzip_frames(window: _RawWindow, cap: int) -> Iterator[Frame]:
    start, first = 0, True
    while window.fill(start + 1):
        if not window.starts_with(GZIP_MAGIC, start):
            rest = window.slice(start, start + READ_SIZE)
            if window.eof and window.end <= start + READ_SIZE and not rest.strip(b"\x00\r\n\t "):
                return  # zero or whitespace padding at the end of the file
            yield Frame(offset=start, problem="broken_record")
            start = _resync(window, start + 1)
        else:
            splitter = _RecordSplitter(start, cap, exact_offsets=False, first_in_file=first)
            end = yield from _inflate_member(window, start, splitter)
            if splitter.not_warc:
                return
            first = False
            start = end if end >= 0 else _resync(window, start + 1)
        if start < 0:
            return
        window.release_before(start)


def _inflate_member(window: _RawWindow, start: int, splitter: _RecordSplitter) -> Generator[Frame, None, int]:
    """Inflate the member at `start`, yielding its frames; returns its end offset, -1 if damaged."""
    inflater = _inflate_lib.decompressobj(16 + zlib.MAX_WBITS)
    pos = start
    try:
        while not inflater.eof:
            if pos >= window.end and not window.fill(pos + 1):
                yield from splitter.end_damaged()
                return -1
            chunk = window.slice(pos, min(pos + FEED_SIZE, window.end))
            yield from splitter.feed(inflater.decompress(chunk, OUTPUT_STEP))
            while inflater.unconsumed_tail and not inflater.eof:
                yield from splitter.feed(inflater.decompress(inflater.unconsumed_tail, OUTPUT_STEP))
            pos += len(chunk) - len(inflater.unused_data)
            if pos - start > RESYNC_WINDOW:  # a long member: keep only some bytes to resync from
                window.release_before(pos - RESYNC_WINDOW)
    except _INFLATE_ERRORS:
        yield from splitter.end_damaged()
        return -1
    yield from splitter.end_intact()
    return pos


def _resync(window: _RawWindow, after: int) -> int:
    """Offset of the next gzip member at or after `after` that inflates to a WARC header."""
    pos = after
    while True:
        hit = window.find(GZIP_MAGIC, pos)
        if hit < 0:
            return -1
        try:
            head = _inflate_lib.decompressobj(16 + zlib.MAX_WBITS).decompress(window.slice(hit, hit + 4096), 8)
        except _INFLATE_ERRORS:
            head = b""
        if head.startswith(WARC_MAGIC):
            return hit
        pos = hit + 1
