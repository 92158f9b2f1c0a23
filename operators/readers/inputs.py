"""Which WARC files a run reads and how they are opened: local paths and globs, s3://,
https:// and Common Crawl `warc.paths.gz` manifests; transient storage errors are retried.
"""

from __future__ import annotations

import glob
import gzip
import io
import os
import random
import re
import time
from typing import Any, BinaryIO, Callable, TypeVar

import fsspec

T = TypeVar("T")

WARC_SUFFIXES = (".warc.gz", ".warc")
MANIFEST_SUFFIXES = (".paths.gz", ".paths")
BACKOFF_S = 1.0  # first retry waits about this long, doubling up to MAX_BACKOFF_S
MAX_BACKOFF_S = 30.0
_GLOB_CHARS = re.compile(r"[*?\[]")
_CRAWL = re.compile(r"CC-MAIN-\d{4}-\d{2}(?!\d)")
_PERMANENT = (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)
_STORAGE_MODULES = ("aiohttp", "botocore", "aiobotocore", "urllib3", "s3fs", "fsspec")


class InputError(Exception):
    """An input path or manifest the user gave cannot be used (missing, unreadable)."""


def crawl_from_path(path: str) -> str:
    """The Common Crawl crawl id ("CC-MAIN-2021-04") in a path or file name, else "unknown"."""
    match = _CRAWL.search(path)
    return match.group(0) if match else "unknown"


def _protocol(path: str) -> str:
    protocol, _ = fsspec.core.split_protocol(path)
    return protocol or "file"


def _is_local(path: str) -> bool:
    return _protocol(path) in ("file", "local")


def _local_path(path: str) -> str:
    return os.path.abspath(os.path.expanduser(fsspec.core.strip_protocol(path) if "://" in path else path))


def expand_inputs(
    inputs: list[str],
    limit_files: int | None = None,
    storage_options: dict | None = None,
    manifest_prefix: str = "https://data.commoncrawl.org/",
) -> list[str]:
    """Expand inputs to a list of WARC paths/URLs, in order, without duplicates.

    Local files, directories (their *.warc.gz / *.warc) and globs; s3:// and other fsspec
    URLs (globs too); https:// URLs as given; manifests (`*.paths.gz`, one relative path per
    line) become `manifest_prefix + line`, unless a local manifest's line exists relative to
    the manifest's folder. Raises InputError before any work when a local path or any glob
    matches nothing, or a manifest cannot be read. `limit_files` keeps the first N.
    """
    if limit_files is not None and limit_files < 1:
        raise InputError(f"limit_files must be at least 1, got {limit_files}")
    if not inputs:
        raise InputError("no inputs given")
    paths: list[str] = []
    for item in inputs:
        for found in _expand_one(str(item).strip(), storage_options or {}):
            if found.endswith(MANIFEST_SUFFIXES):
                paths.extend(_read_manifest(found, storage_options or {}, manifest_prefix))
            else:
                paths.append(found)
    unique = list(dict.fromkeys(paths))
    if not unique:
        raise InputError(f"inputs {inputs} name no WARC files")
    return unique[:limit_files] if limit_files is not None else unique


def _expand_one(item: str, storage_options: dict) -> list[str]:
    if not item:
        raise InputError("empty input path")
    if _is_local(item):
        path = _local_path(item)
        if _GLOB_CHARS.search(path):
            matches = sorted(p for p in glob.glob(path, recursive=True) if os.path.isfile(p))
            if not matches:
                raise InputError(f"no files match {item!r}")
            return matches
        if os.path.isdir(path):
            matches = sorted(
                os.path.join(path, name) for name in os.listdir(path) if name.endswith(WARC_SUFFIXES)
            )
            if not matches:
                raise InputError(f"directory {item!r} holds no *.warc.gz or *.warc files")
            return matches
        if not os.path.isfile(path):
            raise InputError(f"input {item!r} does not exist")
        return [path]
    if _protocol(item) in ("http", "https") or not _GLOB_CHARS.search(item):
        return [item]  # "?" in a URL is a query, not a glob; remote files are checked when read
    try:
        fs, pattern = fsspec.core.url_to_fs(item, **storage_options)
        matches = sorted(fs.glob(pattern))
    except Exception as exc:  # any storage/credential failure is the user's input problem here
        raise InputError(f"cannot list {item!r}: {exc}") from exc
    if not matches:
        raise InputError(f"no files match {item!r}")
    return [fs.unstrip_protocol(m) for m in matches]


def _read_manifest(path: str, storage_options: dict, prefix: str) -> list[str]:
    try:
        with open_input(path, storage_options) as stream:
            data = stream.read()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        lines = data.decode("utf-8").splitlines()
    except (OSError, EOFError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"cannot read manifest {path!r}: {exc}") from exc
    folder = os.path.dirname(path) if _is_local(path) else None
    out = []
    for line in (raw.strip() for raw in lines):
        if not line or line.startswith("#"):
            continue
        if "://" in line:
            out.append(line)
        elif folder is not None and os.path.isfile(os.path.join(folder, line)):
            out.append(os.path.join(folder, line))
        else:
            out.append(prefix.rstrip("/") + "/" + line.lstrip("/"))
    if not out:
        raise InputError(f"manifest {path!r} lists no files")
    return out


# ----------------------------------------------------------------------------- opening


def is_storage_error(exc: BaseException) -> bool:
    """An error of the storage (file system, network, object store), not of the code."""
    return isinstance(exc, OSError) or type(exc).__module__.startswith(_STORAGE_MODULES)


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, _PERMANENT) or not is_storage_error(exc):
        return False
    status = getattr(exc, "status", None)  # aiohttp.ClientResponseError from fsspec's http
    return not isinstance(status, int) or status == 429 or status >= 500


def _with_retries(action: Callable[[], T], retries: int) -> T:
    """Run `action`, retrying transient storage errors with jittered exponential backoff."""
    for attempt in range(retries + 1):
        try:
            return action()
        except Exception as exc:
            if attempt >= retries or not _is_transient(exc):
                raise
            time.sleep(min(MAX_BACKOFF_S, BACKOFF_S * 2**attempt) * (0.5 + random.random()))
    raise AssertionError("unreachable")  # pragma: no cover


class _RetryingReader(io.RawIOBase):
    """A read-only stream that reopens and seeks back on transient read errors
    (the shape of Ray's webdataset datasource: retry the I/O, never the parsing)."""

    def __init__(self, path: str, storage_options: dict, retries: int) -> None:
        super().__init__()
        self.path = path
        self.storage_options = storage_options
        self.retries = retries
        self.pos = 0
        self.inner: Any = _with_retries(self._open, retries)

    def _open(self) -> Any:
        if _is_local(self.path):
            return open(_local_path(self.path), "rb")
        return fsspec.open(self.path, "rb", **self.storage_options).open()

    def _reopen(self) -> None:
        try:
            self.inner.close()
        except Exception:
            pass
        self.inner = self._open()
        if self.pos:
            self.inner.seek(self.pos)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def read(self, size: int = -1) -> bytes:
        first = [True]

        def attempt() -> bytes:
            if not first[0]:
                self._reopen()
            first[0] = False
            return self.inner.read(size)

        data = _with_retries(attempt, self.retries)
        self.pos += len(data)
        return data

    def readall(self) -> bytes:
        return self.read(-1)

    def tell(self) -> int:
        return self.pos

    def close(self) -> None:
        if not self.closed:
            try:
                self.inner.close()
            finally:
                super().close()


def open_input(path: str, storage_options: dict | None = None, retries: int = 3) -> BinaryIO:
    """Open a local path or fsspec URL (s3:// via s3fs, https://) for reading.

    Opening and each read retry transient errors (network, 5xx, throttling) with backoff;
    a failed read reopens the file and seeks back to where it was. Missing files and
    permission errors raise at once.
    """
    return _RetryingReader(path, storage_options or {}, retries)  # type: ignore[return-value]
