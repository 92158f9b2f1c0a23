"""One way to reach local paths and s3:// (or any fsspec URL) from driver and workers alike.

s3fs reads credentials from the standard AWS environment variables / config files; the
endpoint comes from `--s3-endpoint-url`, else `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`.
"""

from __future__ import annotations

import json
import os
import posixpath
from typing import Any

import fsspec
import pyarrow.fs as pafs


def storage_options_for(url: str, s3_endpoint_url: str | None = None) -> dict[str, Any]:
    """fsspec storage options for `url`: only non-secret settings (they are saved with the config)."""
    if not url.startswith(("s3://", "s3a://")):
        return {}
    endpoint = s3_endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    return {"client_kwargs": {"endpoint_url": endpoint}} if endpoint else {}


def resolve(url: str, storage_options: dict[str, Any] | None = None) -> tuple[fsspec.AbstractFileSystem, str]:
    """(filesystem, path inside it) for a local path or URL."""
    if "://" not in url:
        url = os.path.abspath(url)
    fs, path = fsspec.core.url_to_fs(url, **(storage_options or {}))
    return fs, path


def arrow_filesystem(fs: fsspec.AbstractFileSystem) -> pafs.FileSystem:
    """pyarrow view of an fsspec filesystem (native for local, wrapped otherwise)."""
    if _is_local(fs):
        return pafs.LocalFileSystem()
    return pafs.PyFileSystem(pafs.FSSpecHandler(fs))


def join(*parts: str) -> str:
    return posixpath.join(*parts)


def write_json(fs: fsspec.AbstractFileSystem, path: str, data: Any) -> None:
    """Write JSON so that a reader never sees half a file: temp name then move (atomic locally,
    and an S3 object only appears once its upload completes)."""
    fs.makedirs(posixpath.dirname(path), exist_ok=True)
    payload = json.dumps(data, indent=2, sort_keys=True, default=str).encode()
    if _is_local(fs):
        tmp = f"{path}.tmp-{os.getpid()}"
        with fs.open(tmp, "wb") as fh:
            fh.write(payload)
        os.replace(tmp, path)
    else:
        with fs.open(path, "wb") as fh:
            fh.write(payload)


def read_json(fs: fsspec.AbstractFileSystem, path: str) -> Any:
    with fs.open(path, "rb") as fh:
        return json.loads(fh.read())


def write_text(fs: fsspec.AbstractFileSystem, path: str, text: str) -> None:
    fs.makedirs(posixpath.dirname(path), exist_ok=True)
    with fs.open(path, "wb") as fh:
        fh.write(text.encode())


def _is_local(fs: fsspec.AbstractFileSystem) -> bool:
    protocol = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
    return "file" in protocol or "local" in protocol
