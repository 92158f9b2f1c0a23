"""The drop-marking contract of operators/base.py on Arrow tables, for the Dataset-level steps.

Joins and keyed repartitions run on Arrow blocks (batch_format="pyarrow") so every column keeps
its type: numpy batches would turn int32-with-nulls into float and all-None columns into null.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from operators.base import DROP_COLUMNS, DROP_REASON, DROP_STAGE

# Cleared on a row when it is dropped: nothing downstream reads them, the writer only counts it.
HEAVY_COLUMNS = ("image_bytes",)
HEAVY_PREFIXES = ("thumb_",)

# Join / repartition helper column: 0 where a row may match, random elsewhere (see match_salt).
SALT = "_match_salt"

_ARROW_OFFSET_LIMIT = 2**31 - 1


def with_drop_columns(table: pa.Table) -> pa.Table:
    """drop_stage / drop_reason as plain string columns, added (null) where missing."""
    for name in DROP_COLUMNS:
        if name not in table.column_names:
            table = table.append_column(name, pa.nulls(table.num_rows, pa.string()))
        else:
            table = as_string_column(table, name)
    return table


def live_rows(table: pa.Table) -> np.ndarray:
    """True for rows no earlier stage dropped: a drop reason is always a non-empty string."""
    if DROP_REASON not in table.column_names:
        return np.ones(table.num_rows, dtype=bool)
    dropped = pc.fill_null(pc.not_equal(_strings(table[DROP_REASON]), ""), False)
    return ~dropped.to_numpy(zero_copy_only=False)


def mark_rows(table: pa.Table, mask: np.ndarray, stage: str, reasons: str | np.ndarray) -> pa.Table:
    """Mark rows where `mask` dropped at `stage` (one reason, or an aligned array of reasons) and
    clear their heavy columns to null."""
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return table
    table = with_drop_columns(table)
    stage_values = table[DROP_STAGE].to_numpy(zero_copy_only=False).astype(object)
    reason_values = table[DROP_REASON].to_numpy(zero_copy_only=False).astype(object)
    stage_values[mask] = stage
    reason_values[mask] = reasons if isinstance(reasons, str) else np.asarray(reasons, dtype=object)[mask]
    table = _replace(table, DROP_STAGE, pa.array(stage_values, pa.string()))
    table = _replace(table, DROP_REASON, pa.array(reason_values, pa.string()))
    keep = pa.array(np.arange(table.num_rows), mask=mask)  # take() of a null index gives null
    for name in table.column_names:
        if is_heavy(name):
            table = _replace(table, name, table[name].take(keep))
    return table


def is_heavy(name: str) -> bool:
    return name in HEAVY_COLUMNS or name.startswith(HEAVY_PREFIXES)


def match_salt(eligible: np.ndarray) -> pa.Array:
    """0 for rows that may match, a random positive int64 for the rest.

    Joining on (key, SALT) against a side whose SALT is 0 keeps the other rows unmatched whatever
    their key, and spreads them over the partitions: dropped rows (most of a crawl) would
    otherwise share a null key and all hash into one partition.
    """
    eligible = np.asarray(eligible, dtype=bool)
    salt = np.random.default_rng().integers(1, 2**62, size=len(eligible), dtype=np.int64)
    salt[eligible] = 0
    return pa.array(salt, pa.int64())


def as_string_column(table: pa.Table, name: str) -> pa.Table:
    """Column `name` (drop columns, join keys: string by contract) as plain string, so keys hash
    and join alike in every block."""
    if table[name].type == pa.string():
        return table
    return _replace(table, name, _strings(table[name]))


def _strings(column: pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
    """A string-by-contract column as plain strings. One of another type holds no values: a column
    null in every row of a block comes back from numpy batches as null type or as float NaN."""
    value_type = column.type.value_type if pa.types.is_dictionary(column.type) else column.type
    if pa.types.is_string(value_type) or pa.types.is_large_string(value_type):
        return column.cast(pa.string())
    return pa.nulls(len(column), pa.string())


def narrow_types(table: pa.Table) -> pa.Table:
    """Undo the join's widening (Polars hands strings and bytes back as large_string / large_binary)
    where the values fit 32-bit offsets, so a step's output schema is its input schema."""
    narrow = {pa.large_string(): pa.string(), pa.large_binary(): pa.binary()}
    for name in table.column_names:
        column = table[name]
        target = narrow.get(column.type)
        if target is not None and all(chunk.nbytes < _ARROW_OFFSET_LIMIT for chunk in column.chunks):
            table = _replace(table, name, column.cast(target))
    return table


def column_or_nulls(table: pa.Table, name: str, type_: pa.DataType) -> pa.ChunkedArray | pa.Array:
    """Column `name`, or all nulls of `type_` where it is absent. A join partition that received
    no rows from its right side can come back without the right side's columns."""
    if name in table.column_names:
        return table[name]
    return pa.nulls(table.num_rows, type_)


def drop_if_present(table: pa.Table, names: Sequence[str]) -> pa.Table:
    present = [name for name in names if name in table.column_names]
    return table.drop_columns(present) if present else table


def first_per_key(table: pa.Table, keys: Sequence[str], order: Sequence[str]) -> np.ndarray:
    """Mask of one row per distinct combination of `keys`: the first by `order` (ascending, nulls
    last). Rows with a null key are grouped like any other value; filter them out beforehand."""
    n = table.num_rows
    first = np.zeros(n, dtype=bool)
    if n == 0:
        return first
    columns = list(dict.fromkeys([*keys, *order]))
    indices = pc.sort_indices(table.select(columns), sort_keys=[(c, "ascending", "at_end") for c in columns])
    starts = np.zeros(n, dtype=bool)
    starts[0] = True
    for key in keys:
        values = table[key].take(indices).to_numpy(zero_copy_only=False)
        starts[1:] |= values[1:] != values[:-1]
    first[indices.to_numpy()[starts]] = True
    return first


def _replace(table: pa.Table, name: str, column: pa.Array | pa.ChunkedArray) -> pa.Table:
    return table.set_column(table.column_names.index(name), name, column)
