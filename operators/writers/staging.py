"""Per-WARC staging: one input WARC's pairs and image records, committed by a done-marker.

The marker is written last, after both Parquet files are complete, so a WARC with a marker
is finished and a re-run skips it; a WARC without one is redone from the start (its partial
files are overwritten). This is what makes a killed run resumable with no duplicate rows.
"""

from __future__ import annotations

import hashlib
import posixpath
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from operators.writers import storage

PAIR_SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("page_url", pa.string()),
        ("url", pa.string()),
        ("text", pa.string()),
        ("warc_path", pa.string()),
        ("warc_offset", pa.int64()),
        ("crawl", pa.string()),
    ]
)
IMAGE_SCHEMA = pa.schema(
    [
        ("url_key", pa.string()),
        ("url", pa.string()),
        ("image_bytes", pa.binary()),
        ("content_type", pa.string()),
        ("warc_path", pa.string()),
        ("warc_offset", pa.int64()),
    ]
)


def warc_id(path: str) -> str:
    """A readable, collision-safe file stem for an input WARC path."""
    name = posixpath.basename(path.rstrip("/"))
    for suffix in (".warc.gz", ".warc", ".gz"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    digest = hashlib.sha1(path.encode()).hexdigest()[:10]
    return f"{name[:80]}-{digest}"


class StagingArea:
    """Where per-WARC staged files and done-markers live: OUTPUT/_ccpairs/staging/."""

    def __init__(self, output: str, storage_options: dict[str, Any] | None = None) -> None:
        self.output = output
        self.storage_options = storage_options or {}
        fs, root = storage.resolve(output, self.storage_options)
        self.fs = fs
        self.root = storage.join(root, "_ccpairs", "staging")

    # Staged files are Parquet but not named *.parquet, so a downstream glob such as DuckDB's
    # read_parquet('OUT/**/*.parquet') sees only the dataset, never the staging area.
    def pairs_path(self, wid: str) -> str:
        return storage.join(self.root, "pairs", f"{wid}.pairs.pq")

    def images_path(self, wid: str) -> str:
        return storage.join(self.root, "images", f"{wid}.images.pq")

    def marker_path(self, wid: str) -> str:
        return storage.join(self.root, "done", f"{wid}.json")

    def read_marker(self, wid: str) -> dict[str, Any] | None:
        path = self.marker_path(wid)
        if not self.fs.exists(path):
            return None
        try:
            return storage.read_json(self.fs, path)
        except (ValueError, OSError):
            return None  # a torn marker counts as not done

    def writer(self, wid: str, row_group_rows: int = 2000) -> "StagedWarcWriter":
        return StagedWarcWriter(self, wid, row_group_rows)

    def url(self, path: str) -> str:
        """A path inside this filesystem as a URL that Ray / pyarrow can open again."""
        protocol = self.fs.protocol if isinstance(self.fs.protocol, str) else self.fs.protocol[0]
        return path if protocol in ("file", "local") else f"{protocol}://{path}"


class StagedWarcWriter:
    """Streams rows of one WARC into two Parquet files in row groups (memory stays flat)."""

    def __init__(self, area: StagingArea, wid: str, row_group_rows: int) -> None:
        self.area = area
        self.wid = wid
        self.row_group_rows = row_group_rows
        self._buffers: dict[str, list[dict[str, Any]]] = {"pairs": [], "images": []}
        self._writers: dict[str, pq.ParquetWriter] = {}
        self._handles: dict[str, Any] = {}
        self.rows = {"pairs": 0, "images": 0}

    def add(self, kind: str, row: dict[str, Any]) -> None:
        buffer = self._buffers[kind]
        buffer.append(row)
        self.rows[kind] += 1
        if len(buffer) >= self.row_group_rows:
            self._flush(kind)

    def _schema(self, kind: str) -> pa.Schema:
        return PAIR_SCHEMA if kind == "pairs" else IMAGE_SCHEMA

    def _writer(self, kind: str) -> pq.ParquetWriter:
        if kind not in self._writers:
            path = self.area.pairs_path(self.wid) if kind == "pairs" else self.area.images_path(self.wid)
            self.area.fs.makedirs(posixpath.dirname(path), exist_ok=True)
            handle = self.area.fs.open(path, "wb")
            self._handles[kind] = handle
            self._writers[kind] = pq.ParquetWriter(handle, self._schema(kind), compression="zstd")
        return self._writers[kind]

    def _flush(self, kind: str) -> None:
        rows = self._buffers[kind]
        writer = self._writer(kind)
        if rows:
            writer.write_table(pa.Table.from_pylist(rows, schema=self._schema(kind)))
        self._buffers[kind] = []

    def commit(self, marker: dict[str, Any]) -> None:
        """Finish both files (empty ones too, so readers see the schema), then write the marker."""
        for kind in ("pairs", "images"):
            self._flush(kind)
            self._writers[kind].close()
            self._handles[kind].close()
        marker = dict(marker, rows=self.rows)
        storage.write_json(self.area.fs, self.area.marker_path(self.wid), marker)

    def abort(self) -> None:
        for kind, writer in self._writers.items():
            try:
                writer.close()
                self._handles[kind].close()
            except Exception:  # noqa: BLE001 - best effort cleanup of a failed WARC
                pass
