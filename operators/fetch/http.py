"""HTTP download of the images the input WARCs did not contain: concurrent, polite, and safe.

One asyncio loop per fetcher runs in a background thread with one aiohttp session, so several
batches can be in flight at once (a threaded Ray actor, or threads in a benchmark) sharing one
connection pool and the same global / per-host limits. Every failure is a row with a reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import errno
import re
import threading
import weakref
from concurrent import futures
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import AsyncIterator, Iterator, Sequence

import aiohttp
import numpy as np
from yarl import URL

from operators.base import Batch, Operator, Resources, batch_len, mark_dropped, object_array
from operators.fetch.config import FetchConfig
from operators.fetch.guard import (
    AddressPolicy,
    BlockedAddressError,
    GetAddrInfo,
    GuardedResolver,
    check_host,
    parse_ip,
)
from operators.fetch.robots import opted_out, robots_token

REASONS = (
    "invalid_url",  # not an absolute http(s) URL
    "dns_error",  # name does not resolve (or ends in .invalid)
    "blocked_address",  # SSRF guard: resolves only to private / loopback / link-local / ... addresses
    "connect_error",  # refused, unreachable
    "tls_error",
    "timeout",  # connect, read or total timeout
    "connection_reset",  # the server dropped the connection before a complete response
    "truncated",  # body shorter than announced
    "protocol_error",  # malformed HTTP response
    "network_error",  # any other transport failure
    "too_many_redirects",
    "bad_redirect",  # redirect without a usable http(s) Location
    "http_3xx",  # a 3xx that is not a redirect (300, 304, ...)
    "http_403",
    "http_404",
    "http_410",
    "http_429",
    "http_4xx",
    "http_5xx",
    "opted_out",  # X-Robots-Tag noai / noimageai / noindex / noimageindex / none
    "not_image",  # Content-Type not image/* (HTML served at an image URL lands here)
    "too_large",
    "empty_body",
    "fetch_disabled",  # fetch.enabled is false and the WARCs had no bytes for the row
)
# Transport resets are not in it: aiohttp already resends an idempotent request once when the
# connection drops (RFC 9112 9.3.1), which covers stale keep-alive connections.
RETRYABLE = frozenset({"timeout", "http_429", "http_5xx"})
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
NAMED_CODES = {403: "http_403", 404: "http_404", 410: "http_410", 429: "http_429"}
DRAIN_LIMIT = 64 * 1024  # error/redirect bodies up to this size are read so the connection is reused
CHUNK = 64 * 1024
_HOSTNAME = re.compile(r"^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?$")  # after IDNA encoding


@dataclass(frozen=True)
class FetchResult:
    """The outcome of one URL: status "ok" with the body, or a reason from REASONS."""

    status: str
    http_status: int | None = None
    body: bytes | None = None
    retry_after: float | None = None  # seconds a 429/503 asked us to wait


@dataclass(frozen=True)
class _Redirect:
    target: URL
    http_status: int


def http_reason(code: int) -> str:
    if code in NAMED_CODES:
        return NAMED_CODES[code]
    if code >= 500:
        return "http_5xx"
    if code >= 400:
        return "http_4xx"
    return "http_3xx"


def parse_url(text: object) -> URL | None:
    """An absolute http(s) URL without fragment, or None."""
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        return _fetchable(URL(text.strip()))
    except (ValueError, TypeError):  # includes UnicodeError from IDNA
        return None


def _fetchable(url: URL) -> URL | None:
    host = url.raw_host
    if url.scheme not in ("http", "https") or not host or not (_HOSTNAME.match(host) or parse_ip(host)):
        return None
    return url.with_fragment(None)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


class _HostLimiter:
    """At most `per_host` in-flight requests per host name; idle hosts are forgotten."""

    def __init__(self, per_host: int) -> None:
        self._per_host = per_host
        self._hosts: dict[str, list] = {}  # host -> [semaphore, users]

    @contextlib.asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        entry = self._hosts.get(host)
        if entry is None:
            entry = self._hosts[host] = [asyncio.Semaphore(self._per_host), 0]
        entry[1] += 1
        try:
            async with entry[0]:
                yield
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                del self._hosts[host]


class _Deadline:
    """total_timeout of one URL, counted from its first request: time queued for a slot is free."""

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._at: float | None = None

    def remaining(self) -> float:
        now = asyncio.get_running_loop().time()
        if self._at is None:
            self._at = now + self._seconds
        return self._at - now


class _Client:
    """The async side: one aiohttp session, the limits, and the fetch of one URL. Loop-bound."""

    def __init__(self, cfg: FetchConfig, getaddrinfo: GetAddrInfo | None) -> None:
        loop = asyncio.get_running_loop()
        self.cfg = cfg
        self.policy = AddressPolicy.from_config(cfg.allow_private_networks, cfg.allowed_networks)
        self.token = robots_token(cfg.user_agent)
        self.content_types = tuple(t.lower() for t in cfg.content_types)
        resolver = GuardedResolver(self.policy, getaddrinfo or loop.getaddrinfo)
        connector = aiohttp.TCPConnector(limit=0, limit_per_host=0, resolver=resolver, ttl_dns_cache=300)
        self.session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            headers={"User-Agent": cfg.user_agent, "Accept": "image/*,*/*;q=0.8"},
            trust_env=False,  # no proxies from the environment: the guard must see the real peer
        )
        self.slots = asyncio.Semaphore(cfg.concurrency)
        self.hosts = _HostLimiter(cfg.per_host_concurrency)

    async def close(self) -> None:
        await self.session.close()

    async def fetch_many(self, urls: Sequence[object]) -> list[FetchResult]:
        return list(await asyncio.gather(*(self.fetch(u) for u in urls)))

    async def fetch(self, text: object) -> FetchResult:
        url = parse_url(text)
        if url is None:
            return FetchResult("invalid_url")
        deadline = _Deadline(self.cfg.total_timeout)
        attempt = 0
        while True:
            result = await self._follow(url, deadline)
            if result.status not in RETRYABLE or attempt >= self.cfg.retries:
                return result
            wait = self._retry_wait(result, attempt)
            if wait is None or wait >= deadline.remaining():
                return result
            await asyncio.sleep(wait)
            attempt += 1

    def _retry_wait(self, result: FetchResult, attempt: int) -> float | None:
        """Seconds to wait before the next attempt; None: do not retry (asked to wait too long)."""
        if result.retry_after is not None:
            return result.retry_after if result.retry_after <= self.cfg.max_retry_after else None
        return self.cfg.backoff * (2**attempt)

    async def _follow(self, url: URL, deadline: _Deadline) -> FetchResult:
        """One attempt: request, following redirects by hand so every hop passes the guard."""
        last_status = None
        for _ in range(self.cfg.max_redirects + 1):
            host = url.raw_host or ""
            reason = check_host(host, self.policy)
            if reason is not None:
                return FetchResult(reason, last_status)
            async with self.hosts.slot(host), self.slots:
                outcome = await self._request(url, deadline)
            if isinstance(outcome, FetchResult):
                return outcome
            url, last_status = outcome.target, outcome.http_status
        return FetchResult("too_many_redirects", last_status)

    async def _request(self, url: URL, deadline: _Deadline) -> FetchResult | _Redirect:
        remaining = deadline.remaining()
        if remaining <= 0:
            return FetchResult("timeout")
        timeout = aiohttp.ClientTimeout(
            total=remaining, connect=min(self.cfg.connect_timeout, remaining), sock_read=self.cfg.read_timeout
        )
        try:
            async with self.session.get(url, allow_redirects=False, timeout=timeout) as resp:
                return await self._response(url, resp)
        except asyncio.TimeoutError:  # aiohttp's connect / read timeouts subclass it
            return FetchResult("timeout")
        except aiohttp.ClientConnectorDNSError as exc:
            blocked = isinstance(exc.os_error, BlockedAddressError)
            return FetchResult("blocked_address" if blocked else "dns_error")
        except aiohttp.ClientSSLError:
            return FetchResult("tls_error")
        except aiohttp.ClientConnectorError:
            return FetchResult("connect_error")
        except aiohttp.ClientPayloadError:
            return FetchResult("truncated")
        except (aiohttp.ServerDisconnectedError, ConnectionResetError):
            return FetchResult("connection_reset")
        except aiohttp.ClientOSError as exc:
            reset = exc.errno in (errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED)
            return FetchResult("connection_reset" if reset else "network_error")
        except aiohttp.InvalidURL:
            return FetchResult("invalid_url")
        except aiohttp.ClientResponseError:  # unparseable status line or headers
            return FetchResult("protocol_error")
        except aiohttp.ClientError:
            return FetchResult("network_error")

    async def _response(self, url: URL, resp: aiohttp.ClientResponse) -> FetchResult | _Redirect:
        code = resp.status
        if code in REDIRECT_CODES:
            target = self._redirect_target(url, resp.headers.get("Location"))
            await _drain_small(resp)
            return _Redirect(target, code) if target is not None else FetchResult("bad_redirect", code)
        if not 200 <= code < 300:
            retry_after = parse_retry_after(resp.headers.get("Retry-After")) if code in (429, 503) else None
            await _drain_small(resp)
            return FetchResult(http_reason(code), code, retry_after=retry_after)
        # headers only so far: refuse before reading a byte of the body
        if self.cfg.respect_opt_outs and opted_out(
            resp.headers.getall("X-Robots-Tag", ()), self.token, self.cfg.opt_out_directives
        ):
            return FetchResult("opted_out", code)
        content_type = resp.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if not content_type.startswith(self.content_types):
            return FetchResult("not_image", code)
        if resp.content_length is not None and resp.content_length > self.cfg.max_bytes:
            return FetchResult("too_large", code)
        body = await self._body(resp)
        if body is None:
            return FetchResult("too_large", code)
        if not body:
            return FetchResult("empty_body", code)
        return FetchResult("ok", code, body)

    @staticmethod
    def _redirect_target(url: URL, location: str | None) -> URL | None:
        if not location:
            return None
        try:
            return _fetchable(url.join(URL(location)))
        except (ValueError, TypeError):
            return None

    async def _body(self, resp: aiohttp.ClientResponse) -> bytes | None:
        """The body, or None past max_bytes (streamed and aborted: never buffered beyond it)."""
        plain = resp.headers.get("Content-Encoding", "identity").strip().lower() in ("", "identity")
        if plain and resp.content_length is not None:
            return await resp.read()  # aiohttp reads exactly Content-Length bytes, already checked
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(CHUNK):
            size += len(chunk)
            if size > self.cfg.max_bytes:
                return None
            chunks.append(chunk)
        return b"".join(chunks)


async def _drain_small(resp: aiohttp.ClientResponse) -> None:
    """Read a small error/redirect body so the keep-alive connection can be reused."""
    if resp.content_length is not None and resp.content_length <= DRAIN_LIMIT:
        with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
            await resp.read()


class _LoopThread:
    """An event loop in a daemon thread holding one `_Client`; callable from any thread."""

    def __init__(self, cfg: FetchConfig, getaddrinfo: GetAddrInfo | None) -> None:
        self.loop = asyncio.new_event_loop()
        # getaddrinfo runs in the loop's executor: size it for many new hosts resolving at once
        # (asyncio's default is cores + 4 threads, which would queue DNS behind a few lookups)
        self.loop.set_default_executor(ThreadPoolExecutor(cfg.concurrency, thread_name_prefix="ccpairs-dns"))
        self.thread = threading.Thread(target=self.loop.run_forever, name="ccpairs-fetch", daemon=True)
        self.thread.start()
        self.client = self.call(self._open(cfg, getaddrinfo))

    @staticmethod
    async def _open(cfg: FetchConfig, getaddrinfo: GetAddrInfo | None) -> _Client:
        return _Client(cfg, getaddrinfo)

    def call(self, coro):
        return self.submit(coro).result()

    def submit(self, coro) -> futures.Future:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def close(self) -> None:
        if self.loop.is_closed():
            return
        if threading.current_thread() is self.thread:  # cannot wait on ourselves
            self.loop.call_soon(self.loop.stop)
            return
        try:
            self.call(self.client.close())
            self.call(self.loop.shutdown_default_executor())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join()
            self.loop.close()


def _int_or_none(value: object) -> int | None:
    if value is None or isinstance(value, (str, bytes)):
        return None
    try:
        return None if value != value else int(value)  # NaN != NaN
    except (TypeError, ValueError, OverflowError):
        return None


class HttpFetcher(Operator):
    """Download `url` for live rows that have no image bytes yet; failures become dropped rows.

    Rows whose `fetch_status` is "warc" or whose `image_bytes` is already set are left alone
    (no request). Identical URLs in a batch are fetched once. Thread-safe: several batches may
    run at once and share the limits in `FetchConfig` (concurrency is per fetcher instance).
    """

    stage = "fetch"
    reads = ("url",)
    writes = ("image_bytes", "fetch_status", "http_status")

    def __init__(self, cfg: FetchConfig, *, getaddrinfo: GetAddrInfo | None = None) -> None:
        """`getaddrinfo` replaces the system resolver (an async function like loop.getaddrinfo)."""
        self.cfg = cfg
        self._getaddrinfo = getaddrinfo
        self._runtime: _LoopThread | None = None
        self._lock = threading.Lock()

    def resources(self) -> Resources:
        # a threaded actor pool: see FetchConfig (min_actors .. batches_per_actor)
        cfg = self.cfg
        return Resources(num_cpus=cfg.actor_cpus, batch_size=cfg.batch_size, pool=(cfg.min_actors, cfg.max_actors),
                         calls_per_actor=cfg.batches_per_actor)

    def __getstate__(self) -> dict:
        return {"cfg": self.cfg, "getaddrinfo": self._getaddrinfo}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["cfg"], getaddrinfo=state["getaddrinfo"])

    def close(self) -> None:
        """Close the session and stop the loop thread (also done when the fetcher is collected)."""
        with self._lock:
            runtime, self._runtime = self._runtime, None
        if runtime is not None:
            runtime.close()

    def fetch(self, urls: Sequence[object]) -> list[FetchResult]:
        """Fetch URLs concurrently (each distinct URL once); results in input order."""
        distinct = list(dict.fromkeys(urls))
        runtime = self._ensure_runtime()
        results = runtime.call(runtime.client.fetch_many(distinct))
        by_url = dict(zip(distinct, results))
        return [by_url[u] for u in urls]

    def fetch_completed(self, urls: Sequence[object]) -> Iterator[list[tuple[int, FetchResult]]]:
        """Fetch URLs concurrently (each distinct URL once) and yield (position, result) pairs
        as downloads end: each time, everything that ended since the last yield. A caller that
        works on one group while the rest download (FetchDecoder) hides its work behind the
        network wait instead of starting after the batch's slowest response."""
        positions: dict[object, list[int]] = {}
        for i, url in enumerate(urls):
            positions.setdefault(url, []).append(i)
        runtime = self._ensure_runtime()
        pending = {runtime.submit(runtime.client.fetch(url)): url for url in positions}
        try:
            while pending:
                done, _ = futures.wait(pending, return_when=futures.FIRST_COMPLETED)
                yield [(i, future.result()) for future in done for i in positions[pending.pop(future)]]
        finally:
            for future in pending:  # the caller stopped early: do not leave requests running
                future.cancel()

    def _ensure_runtime(self) -> _LoopThread:
        with self._lock:
            if self._runtime is None:
                self._runtime = _LoopThread(self.cfg, self._getaddrinfo)
                weakref.finalize(self, self._runtime.close)
            return self._runtime

    def process(self, batch: Batch, live: np.ndarray) -> Batch:
        for _ in self.fetch_rows(batch, self.prepare(batch, live)):
            pass
        return batch

    def prepare(self, batch: Batch, live: np.ndarray) -> list[int]:
        """Normalise the columns this stage writes; return the rows to download (live rows
        without bytes that the WARC join did not fill)."""
        # Ray hands an all-null column over as float NaN: normalise what we write to None / values
        n = batch_len(batch)
        blank = [None] * n
        body = object_array(v if isinstance(v, (bytes, bytearray, memoryview)) and len(v) else None
                            for v in batch.get("image_bytes", blank))
        status = object_array(v if isinstance(v, str) else None for v in batch.get("fetch_status", blank))
        code = object_array(_int_or_none(v) for v in batch.get("http_status", blank))
        batch["image_bytes"], batch["fetch_status"], batch["http_status"] = body, status, code
        return [int(i) for i in np.flatnonzero(live) if status[i] != "warc" and body[i] is None]

    def fetch_rows(self, batch: Batch, todo: list[int]) -> Iterator[np.ndarray]:
        """Download rows `todo` of a batch that went through `prepare`, writing each outcome
        into it; yield the row indices written, group by group as downloads end."""
        if not todo:
            return
        if self.cfg.enabled:
            urls = batch["url"]
            groups = self.fetch_completed([urls[i] for i in todo])
        else:
            groups = iter([[(k, FetchResult("fetch_disabled")) for k in range(len(todo))]])
        for group in groups:  # (position in todo, result) pairs
            rows = np.asarray([todo[k] for k, _ in group], dtype=np.int64)
            for i, (_, result) in zip(rows.tolist(), group):
                batch["fetch_status"][i] = result.status
                batch["http_status"][i] = result.http_status
                batch["image_bytes"][i] = result.body if result.status == "ok" else None
                if result.status != "ok":
                    mark_dropped(batch, i, self.stage, result.status)
            yield rows
