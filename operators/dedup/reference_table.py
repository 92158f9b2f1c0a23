"""Reference pHash tables (image_phash, name, source_id) of public datasets, built once per
dataset (`ccpairs hash-reference`) from a folder of images, a WebDataset tar set or a Parquet of
image bytes; the dedup stage then drops run images found in them.
"""

from __future__ import annotations

import io
import posixpath
import tarfile
from collections import Counter
from typing import Any, Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import ray.data
from PIL import Image

from operators.config import ConfigError
from operators.images.phash import phash_hex
from operators.writers import storage

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff")
TABLE_SCHEMA = pa.schema([("image_phash", pa.string()), ("name", pa.string()), ("source_id", pa.string())])
# Why an image got no hash. A tar that cannot be read (or stops being readable) counts as one
# "unreadable" entry; a Parquet file without an image column as one "no_image_column" entry.
INVALID_REASONS = ("empty", "decode_error", "unreadable", "no_image_column")

# Where a Parquet keeps its images (bytes, or Hugging Face's struct<bytes, path>) and their ids.
IMAGE_COLUMNS = ("image_bytes", "image", "jpg", "jpeg", "png", "webp", "img", "bytes")
ID_COLUMNS = ("source_id", "__key__", "key", "image_id", "id", "file_name", "filename", "url", "path")

_STATUS = "_status"  # "hashed" or an invalid reason
_HASHED = "hashed"
_ROWS_PER_TABLE = 256


def hash_reference(source: str, name: str, output: str, storage_options: dict[str, Any] | None = None) -> dict:
    """Hash every image under `source` (a file, folder or glob; local or s3://) into a Parquet
    table at `output` (replaced if present) with columns image_phash, name, source_id.

    Image files are found recursively by extension, tar members likewise, Parquet rows through
    their image column. source_id is the file's path under `source` (tar: "shard.tar/member";
    Parquet: the file's id column, else "file.parquet#row"). Returns
    {"images": n, "hashed": k, "invalid": {reason: count}}; invalid images are counted, not fatal.
    """
    fs, root = storage.resolve(source, storage_options)
    base, files = _list_files(fs, root)
    by_kind: dict[str, list[str]] = {"image": [], "tar": [], "parquet": []}
    for path in files:
        kind = _kind(path)
        if kind:
            by_kind[kind].append(path)
    if not any(by_kind.values()):
        raise ConfigError(f"hash-reference: no image, .tar or .parquet files in {source}")

    kwargs = {"source": source, "base": base, "name": name, "storage_options": storage_options}
    parts = []
    tasks = (("image", _hash_image_files, 64), ("tar", _hash_tars, 1), ("parquet", _hash_parquets, 1))
    for kind, fn, per_task in tasks:  # per_task: files per map call
        paths = by_kind[kind]
        if paths:
            items = ray.data.from_items([{"path": p} for p in paths], override_num_blocks=min(len(paths), 1024))
            parts.append(items.map_batches(fn, fn_kwargs=kwargs, batch_size=per_task, batch_format="pyarrow"))
    hashed = (parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]).materialize()

    counts: Counter = Counter()
    for row in hashed.map_batches(_status_counts, batch_format="pyarrow").take_all():  # a few rows per block
        counts[row["status"]] += row["count"]
    out_fs, out_path = storage.resolve(output, storage_options)
    hashed.map_batches(_table_rows, batch_format="pyarrow").write_parquet(
        out_path, filesystem=storage.arrow_filesystem(out_fs), mode=ray.data.SaveMode.OVERWRITE
    )
    hashed_count = counts.pop(_HASHED, 0)
    invalid = dict(sorted(counts.items()))
    return {"images": hashed_count + sum(invalid.values()), "hashed": hashed_count, "invalid": invalid}


def hash_image(data: bytes | None) -> tuple[str | None, str | None]:
    """(pHash, None) for a decodable image, else (None, reason)."""
    if not data:
        return None, "empty"
    try:
        with Image.open(io.BytesIO(data)) as img:
            return phash_hex(img), None
    except Exception:  # noqa: BLE001 - Pillow signals bad data with many exception types
        return None, "decode_error"


# ----------------------------------------------------------------------------- listing


def _list_files(fs, root: str) -> tuple[str, list[str]]:
    """(base for relative ids, sorted files): everything under a folder, a glob's matches, or one file."""
    if any(ch in root for ch in "*?["):
        base = root
        while any(ch in base for ch in "*?["):
            base = posixpath.dirname(base)
        matches = [p for p in fs.glob(root) if fs.isfile(p)]
        return base, sorted(matches)
    if fs.isdir(root):
        return root, sorted(fs.find(root))
    if fs.isfile(root):
        return posixpath.dirname(root), [root]
    raise ConfigError(f"hash-reference: {root} does not exist")


def _kind(path: str) -> str | None:
    lower = path.lower()
    if lower.endswith(IMAGE_EXTENSIONS):
        return "image"
    if lower.endswith(".tar"):
        return "tar"
    if lower.endswith(".parquet"):
        return "parquet"
    return None


def _relative(path: str, base: str) -> str:
    prefix = base.rstrip("/") + "/"
    return path[len(prefix):] if path.startswith(prefix) else path


# ----------------------------------------------------------------------------- hashing tasks


class _Rows:
    """Accumulates (source_id, pHash | None, status) rows and hands them out as tables."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.rows: list[tuple[str, str | None, str]] = []

    def add(self, source_id: str, data: bytes | None) -> None:
        phash, reason = hash_image(data)
        self.rows.append((source_id, phash, reason or _HASHED))

    def invalid(self, source_id: str, reason: str) -> None:
        self.rows.append((source_id, None, reason))

    def full(self) -> bool:
        return len(self.rows) >= _ROWS_PER_TABLE

    def take(self) -> pa.Table:
        source_ids, hashes, statuses = zip(*self.rows) if self.rows else ((), (), ())
        self.rows = []
        return pa.table(
            {
                "image_phash": pa.array(hashes, pa.string()),
                "name": pa.array([self.name] * len(source_ids), pa.string()),
                "source_id": pa.array(source_ids, pa.string()),
                _STATUS: pa.array(statuses, pa.string()),
            }
        )


def _hash_image_files(batch: pa.Table, source: str, base: str, name: str, storage_options) -> pa.Table:
    fs, _ = storage.resolve(source, storage_options)
    rows = _Rows(name)
    for path in batch["path"].to_pylist():
        try:
            with fs.open(path, "rb") as fh:
                data = fh.read()
        except OSError:
            rows.invalid(_relative(path, base), "unreadable")
            continue
        rows.add(_relative(path, base), data)
    return rows.take()


def _hash_tars(batch: pa.Table, source: str, base: str, name: str, storage_options) -> Iterator[pa.Table]:
    """Streams each tar member by member (a WebDataset shard is often ~1 GB)."""
    fs, _ = storage.resolve(source, storage_options)
    rows = _Rows(name)
    for path in batch["path"].to_pylist():
        shard = _relative(path, base)
        try:
            with fs.open(path, "rb") as fh, tarfile.open(fileobj=fh, mode="r|*") as tar:
                for member in tar:
                    if member.isfile() and member.name.lower().endswith(IMAGE_EXTENSIONS):
                        rows.add(f"{shard}/{member.name}", tar.extractfile(member).read())
                        if rows.full():
                            yield rows.take()
        except (OSError, tarfile.TarError):
            rows.invalid(shard, "unreadable")
    yield rows.take()


def _hash_parquets(batch: pa.Table, source: str, base: str, name: str, storage_options) -> Iterator[pa.Table]:
    fs, _ = storage.resolve(source, storage_options)
    rows = _Rows(name)
    for path in batch["path"].to_pylist():
        relative = _relative(path, base)
        try:
            with fs.open(path, "rb") as fh:
                parquet = pq.ParquetFile(fh)
                image_column, id_column = _image_column(parquet.schema_arrow), _id_column(parquet.schema_arrow)
                if image_column is None:
                    rows.invalid(relative, "no_image_column")
                    continue
                columns = [image_column] + ([id_column] if id_column else [])
                row_index = 0
                for record_batch in parquet.iter_batches(batch_size=_ROWS_PER_TABLE, columns=columns):
                    images = record_batch.column(0)
                    if pa.types.is_struct(images.type):
                        images = images.field("bytes")
                    ids = record_batch.column(1).to_pylist() if id_column else [None] * len(images)
                    for data, source_id in zip(images.to_pylist(), ids):
                        rows.add(str(source_id) if source_id is not None else f"{relative}#{row_index}", data)
                        row_index += 1
                    yield rows.take()
        except (OSError, pa.ArrowException):
            rows.invalid(relative, "unreadable")
    yield rows.take()


def _image_column(schema: pa.Schema) -> str | None:
    def holds_bytes(field: pa.Field) -> bool:
        t = field.type
        if pa.types.is_struct(t):
            return t.get_field_index("bytes") >= 0 and holds_bytes(t.field(t.get_field_index("bytes")))
        return pa.types.is_binary(t) or pa.types.is_large_binary(t)

    by_name = {field.name.lower(): field for field in schema}
    for candidate in IMAGE_COLUMNS:
        if candidate in by_name and holds_bytes(by_name[candidate]):
            return by_name[candidate].name
    return next((field.name for field in schema if holds_bytes(field)), None)


def _id_column(schema: pa.Schema) -> str | None:
    names = {name.lower(): name for name in schema.names}
    return next((names[c] for c in ID_COLUMNS if c in names), None)


def _status_counts(table: pa.Table) -> pa.Table:
    counts = pc.value_counts(table[_STATUS])
    return pa.table({"status": counts.field("values"), "count": counts.field("counts")})


def _table_rows(table: pa.Table) -> pa.Table:
    hashed = table.filter(pc.equal(table[_STATUS], _HASHED))
    return hashed.select(TABLE_SCHEMA.names).cast(TABLE_SCHEMA)
