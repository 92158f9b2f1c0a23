"""A loopback HTTP/1.1 server with one endpoint per failure a fetcher must survive.

Raw asyncio (not a framework) so it can misbehave on purpose: hang, trickle, reset, lie about
Content-Length. It runs in a background thread, binds one port on one or more loopback
addresses (127.0.0.2 and up: "other hosts" without DNS) and records every request, so tests
can assert what reached it and how many requests were in flight at once.

Endpoints (query parameters in brackets; every endpoint takes [delay=seconds before answering]):
  /ok.jpg [v=index into images]  /ok.png                  200 image
  /slow-body [chunks, interval]                           200 JPEG sent in chunks with pauses
  /hang                                                   never answers
  /status/<code>                                          that status, small text body
  /flaky [key, fails=1]                                   500 `fails` times per key, then 200
  /rate-limited [key, retry_after=1]                      429 + Retry-After once per key, then 200
  /redirect [to=URL, code=302]  /redirect-loop  /redirect-chain [n]  /redirect-no-location
  /big [bytes] (chunked, no length)  /big-declared [bytes] (Content-Length only)
  /wrong-type (text/plain)  /html.jpg (text/html)  /no-type (no Content-Type)  /empty
  /reset (RST after reading the request)  /truncated (short body, then close)
  /robots [tag=... repeated]                              200 JPEG with X-Robots-Tag headers
  /gate [key, v]                                          200 image once the test calls open_gate(key)

Run standalone (for benchmarks, in its own process): python -m tests.fetch.server --hosts 16
[--image-dir DIR]; it prints "PORT <n>" once listening and serves until killed.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import socket
import struct
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit


def make_image(fmt: str, size: tuple[int, int] = (64, 48)) -> bytes:
    """A small real image (a colour gradient) in `fmt` ("JPEG" / "PNG")."""
    from PIL import Image

    w, h = size
    img = Image.new("RGB", size)
    img.putdata([((x * 255) // w, (y * 255) // h, 128) for y in range(h) for x in range(w)])
    out = io.BytesIO()
    img.save(out, format=fmt)
    return out.getvalue()


JPEG = make_image("JPEG")
PNG = make_image("PNG")
REASON_PHRASES = {200: "OK", 301: "Moved Permanently", 302: "Found", 303: "See Other", 307: "Temporary Redirect",
                  308: "Permanent Redirect", 403: "Forbidden", 404: "Not Found", 410: "Gone", 429: "Too Many Requests",
                  500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


@dataclass
class Hit:
    """One request as the server saw it."""

    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    local_host: str  # which bound address the client connected to
    time: float


@dataclass
class Request:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    local_host: str

    def arg(self, name: str, default: str) -> str:
        return self.query.get(name, [default])[0]


@dataclass
class _Flight:
    """Requests being handled right now, and the most there ever were (overall and per host)."""

    now: Counter = field(default_factory=Counter)
    peak: Counter = field(default_factory=Counter)

    def enter(self, host: str) -> None:
        for key in ("*", host):
            self.now[key] += 1
            self.peak[key] = max(self.peak[key], self.now[key])

    def leave(self, host: str) -> None:
        for key in ("*", host):
            self.now[key] -= 1


class FaultServer:
    """Start with `with FaultServer() as server:`; `server.url("/ok.jpg")` gives a URL."""

    def __init__(self, hosts: tuple[str, ...] = ("127.0.0.1",), images: list[bytes] | None = None) -> None:
        self.hosts = hosts
        self.images = images or [JPEG]
        self.port = 0
        self.hits: list[Hit] = []
        self._flight = _Flight()
        self._per_key: Counter = Counter()
        self._gates: dict[str, asyncio.Event] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._servers: list[asyncio.base_events.Server] = []
        self._stopping: asyncio.Event | None = None

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> "FaultServer":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        sockets = bind_same_port(self.hosts)
        self.port = sockets[0].getsockname()[1]
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-server", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(sockets), self._loop).result()

    async def _listen(self, sockets: list[socket.socket]) -> None:
        self._stopping = asyncio.Event()
        for sock in sockets:
            self._servers.append(await asyncio.start_server(self._connection, sock=sock, limit=1 << 16))

    def stop(self) -> None:
        if self._loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()
        self._loop = None

    async def _shutdown(self) -> None:
        self._stopping.set()
        for server in self._servers:
            server.close()
        for task in [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]:
            task.cancel()

    # ------------------------------------------------------------------ queries for tests

    def url(self, path: str, host: str | None = None) -> str:
        return f"http://{host or self.hosts[0]}:{self.port}{path}"

    def count(self, path: str | None = None, host: str | None = None) -> int:
        return sum(1 for h in list(self.hits)
                   if (path is None or h.path == path) and (host is None or h.local_host == host))

    def peak_in_flight(self, host: str = "*") -> int:
        return self._flight.peak[host]

    def open_gate(self, key: str) -> None:
        """Let /gate?key=KEY requests (waiting or future) answer. Callable from any thread."""
        self._loop.call_soon_threadsafe(self._gate(key).set)

    def _gate(self, key: str) -> asyncio.Event:
        return self._gates.setdefault(key, asyncio.Event())

    # ------------------------------------------------------------------ protocol

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        local_host = writer.get_extra_info("sockname")[0]
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                request = parse_request(head, local_host)
                self.hits.append(Hit(request.path, request.query, request.headers, local_host, time.monotonic()))
                self._flight.enter(local_host)
                try:
                    keep_alive = await self._dispatch(request, writer)
                finally:
                    self._flight.leave(local_host)
                if not keep_alive or request.headers.get("connection", "").lower() == "close":
                    break
        except (ConnectionError, asyncio.CancelledError):
            return
        finally:
            if not writer.transport.is_closing():
                writer.close()

    async def _dispatch(self, req: Request, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; False closes the connection afterwards."""
        delay = float(req.arg("delay", "0"))
        if delay:
            await asyncio.sleep(delay)
        path = req.path
        if path == "/ok.jpg":
            return await respond(writer, 200, self.images[int(req.arg("v", "0")) % len(self.images)], "image/jpeg")
        if path == "/ok.png":
            return await respond(writer, 200, PNG, "image/png")
        if path == "/slow-body":
            return await self._slow_body(req, writer)
        if path == "/hang":
            await self._stopping.wait()
            return False
        if path.startswith("/status/"):
            code = int(path.rsplit("/", 1)[1])
            return await respond(writer, code, f"status {code}\n".encode(), "text/plain")
        if path == "/flaky":
            key = ("flaky", req.arg("key", ""))
            self._per_key[key] += 1
            if self._per_key[key] <= int(req.arg("fails", "1")):
                return await respond(writer, 500, b"try again\n", "text/plain")
            return await respond(writer, 200, JPEG, "image/jpeg")
        if path == "/rate-limited":
            key = ("rate", req.arg("key", ""))
            self._per_key[key] += 1
            if self._per_key[key] == 1:
                extra = {"Retry-After": req.arg("retry_after", "1")}
                return await respond(writer, 429, b"slow down\n", "text/plain", extra)
            return await respond(writer, 200, JPEG, "image/jpeg")
        if path == "/redirect":
            code = int(req.arg("code", "302"))
            return await respond(writer, code, b"", "text/plain", {"Location": req.arg("to", "/ok.jpg")})
        if path == "/redirect-loop":
            return await respond(writer, 302, b"", "text/plain", {"Location": "/redirect-loop"})
        if path == "/redirect-chain":
            n = int(req.arg("n", "1"))
            target = f"/redirect-chain?n={n - 1}" if n > 1 else "/ok.jpg"
            return await respond(writer, 302, b"", "text/plain", {"Location": target})
        if path == "/redirect-no-location":
            return await respond(writer, 302, b"", "text/plain")
        if path == "/big":
            return await self._big_chunked(int(req.arg("bytes", str(1 << 20))), writer)
        if path == "/big-declared":
            size = int(req.arg("bytes", str(1 << 30)))
            writer.write(head_bytes(200, "image/jpeg", {"Content-Length": str(size)}) + JPEG)
            await writer.drain()
            return False
        if path == "/wrong-type":
            return await respond(writer, 200, JPEG, "text/plain")
        if path == "/html.jpg":
            html = b"<!doctype html><html><body>not an image</body></html>"
            return await respond(writer, 200, html, "text/html; charset=utf-8")
        if path == "/no-type":
            return await respond(writer, 200, JPEG, None)
        if path == "/empty":
            return await respond(writer, 200, b"", "image/jpeg")
        if path == "/reset":
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return False
        if path == "/truncated":
            writer.write(head_bytes(200, "image/jpeg", {"Content-Length": str(len(JPEG) * 4)}) + JPEG)
            await writer.drain()
            return False
        if path == "/gate":
            await self._gate(req.arg("key", "")).wait()
            return await respond(writer, 200, self.images[int(req.arg("v", "0")) % len(self.images)], "image/jpeg")
        if path == "/robots":
            extra = [("X-Robots-Tag", tag) for tag in req.query.get("tag", [])]
            return await respond(writer, 200, JPEG, "image/jpeg", extra)
        return await respond(writer, 404, b"no such endpoint\n", "text/plain")

    async def _slow_body(self, req: Request, writer: asyncio.StreamWriter) -> bool:
        chunks = int(req.arg("chunks", "4"))
        interval = float(req.arg("interval", "0.05"))
        writer.write(head_bytes(200, "image/jpeg", {"Content-Length": str(len(JPEG))}))
        step = -(-len(JPEG) // chunks)
        for start in range(0, len(JPEG), step):
            await writer.drain()
            await asyncio.sleep(interval)
            writer.write(JPEG[start:start + step])
        await writer.drain()
        return True

    async def _big_chunked(self, size: int, writer: asyncio.StreamWriter) -> bool:
        writer.write(head_bytes(200, "image/jpeg", {"Transfer-Encoding": "chunked"}))
        block = b"\0" * 65536
        sent = 0
        try:
            while sent < size:
                part = block[: min(len(block), size - sent)]
                writer.write(b"%x\r\n%s\r\n" % (len(part), part))
                sent += len(part)
                await writer.drain()
            writer.write(b"0\r\n\r\n")
            await writer.drain()
        except ConnectionError:
            return False
        return True


# ---------------------------------------------------------------------- helpers


def parse_request(head: bytes, local_host: str) -> Request:
    lines = head.decode("latin-1").split("\r\n")
    _method, target, _version = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    parts = urlsplit(target)
    return Request(parts.path, parse_qs(parts.query), headers, local_host)


def head_bytes(code: int, content_type: str | None, extra: dict | list | None = None) -> bytes:
    lines = [f"HTTP/1.1 {code} {REASON_PHRASES.get(code, 'Status')}"]
    if content_type is not None:
        lines.append(f"Content-Type: {content_type}")
    items = extra.items() if isinstance(extra, dict) else (extra or [])
    lines += [f"{name}: {value}" for name, value in items]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def respond(writer: asyncio.StreamWriter, code: int, body: bytes, content_type: str | None,
                  extra: dict | list | None = None) -> bool:
    items = list(extra.items() if isinstance(extra, dict) else (extra or []))
    items.append(("Content-Length", str(len(body))))
    writer.write(head_bytes(code, content_type, items) + body)
    await writer.drain()
    return True


def bind_same_port(hosts: tuple[str, ...]) -> list[socket.socket]:
    """Listening sockets on every host, all on one free port (the first host picks it)."""
    for _ in range(20):
        sockets: list[socket.socket] = []
        try:
            for host in hosts:
                sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
                sockets.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((host, sockets[0].getsockname()[1] if len(sockets) > 1 else 0))
                sock.listen(1024)
                sock.setblocking(False)
            return sockets
        except OSError:
            for sock in sockets:
                sock.close()
            if len(sockets) <= 1:
                raise
    raise OSError(f"no common free port on {hosts}")


def loopback_hosts(n: int) -> tuple[str, ...]:
    """127.0.0.1 .. 127.0.0.n: distinct 'hosts' without DNS (Linux routes all of 127/8 to lo)."""
    return tuple(f"127.0.0.{i}" for i in range(1, n + 1))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=1, help="bind 127.0.0.1 .. 127.0.0.N")
    parser.add_argument("--image-dir", type=Path, help="serve these *.jpg as /ok.jpg?v=i (sorted)")
    args = parser.parse_args(argv)
    images = [p.read_bytes() for p in sorted(args.image_dir.glob("*.jpg"))] if args.image_dir else None
    server = FaultServer(loopback_hosts(args.hosts), images)
    server.start()
    print(f"PORT {server.port}", flush=True)
    try:
        sys.stdin.read()  # serve until the parent closes our stdin (or kills us)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
