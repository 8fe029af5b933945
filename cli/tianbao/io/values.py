"""values.csv and values.parquet: every table value of a merge in long format, for analysts.

Written in chunks of units (one Parquet row group, one CSV block each), so ten thousand units
(2.3 million rows) never sit in memory as one table or one byte string. pandas is not needed;
pyarrow is imported inside `write_values`: `tianbao --version` and every other command start
without it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from itertools import chain, islice
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tianbao.io.atomic import atomic_path
from tianbao.io.tables import csv_safe

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from tianbao.form.query import Form
    from tianbao.report import Report

VALUES_CSV = "values.csv"
VALUES_PARQUET = "values.parquet"
COLUMNS = ("unit_code", "unit_name", "scope", "year", "table", "row", "column", "value")
# Units per chunk: about 230,000 rows, a few megabytes of Arrow arrays.
CHUNK_UNITS = 1000


def picked_values(keys: list[tuple[str, str, str]], reports: list[Report]) -> list[list[Any]]:
    """Each report's table values at `keys` (table, row, column), picked a table row at a time
    (itemgetter runs in C: 2.3 million values at 10,000 reports)."""
    groups: list[tuple[str, str, Any]] = []
    for table_id, row_id, column_id in keys:
        if groups and groups[-1][:2] == (table_id, row_id):
            groups[-1][2].append(column_id)
        else:
            groups.append((table_id, row_id, [column_id]))
    picks = [(t, r, itemgetter(*cols) if len(cols) > 1 else (lambda row, c=cols[0]: (row[c],)))
             for t, r, cols in groups]
    rows = []
    for report in reports:
        tables = report.tables
        row: list[Any] = []
        for table_id, row_id, pick in picks:
            row.extend(pick(tables[table_id][row_id]))
        rows.append(row)
    return rows


def _chunks(reports: Iterable[tuple[str, Report]], size: int) -> Iterator[list[tuple[str, Report]]]:
    iterator = iter(reports)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _spread(labels: list[str], indices: np.ndarray) -> pa.Array:
    """Labels spread over the rows as a dictionary column (no Python string per row). Repeated
    labels are merged first: Parquet keeps a dictionary of distinct values only, and writes a
    column plain (three times the size) when the dictionary repeats itself."""
    import numpy as np
    import pyarrow as pa

    distinct = list(dict.fromkeys(labels))
    if len(distinct) < len(labels):
        position = {label: i for i, label in enumerate(distinct)}
        indices = np.array([position[label] for label in labels], dtype=np.int32)[indices]
    return pa.DictionaryArray.from_arrays(pa.array(indices), pa.array(distinct, pa.string()))


def _decimals(values: list[Any], scale: int, all_int: bool) -> pa.Array:
    """The value column: exact decimals. A form whose tables hold counts only goes through
    int64 and one vectorised cast (a Python Decimal per row costs 20 times more)."""
    import pyarrow as pa

    if all_int:
        return pa.array(values, pa.int64()).cast(pa.decimal128(28, scale))
    return pa.array(values, pa.decimal128(28, scale))


def _table(form: Form, chunk: list[tuple[str, Report]], year: int, csv: bool) -> tuple[pa.Table, pa.Table | None]:
    """Long format for a chunk of (scope, report), one row per table cell (inputs and totals):
    the Parquet table, and when `csv` the CSV's (names made safe for Excel, values as text)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    keys = [(t.id, r, c) for t in form.tables for r, c in form.table_value_keys(t)]
    scale = max((c.places for t in form.tables for c in t.columns), default=0)
    per_report = np.repeat(np.arange(len(chunk), dtype=np.int32), len(keys))
    per_key = np.tile(np.arange(len(keys), dtype=np.int32), len(chunk))
    values = list(chain.from_iterable(picked_values(keys, [report for _, report in chunk])))
    all_int = not any(column.type == "decimal" for t in form.tables for column in t.columns)
    codes = [r.unit.code for _, r in chunk]
    names = [r.unit.name for _, r in chunk]
    columns = {
        "unit_code": _spread(codes, per_report),
        "unit_name": _spread(names, per_report),
        "scope": _spread([scope for scope, _ in chunk], per_report),
        "year": pa.array(np.full(len(values), year, dtype=np.int32)),
        "table": _spread([k[0] for k in keys], per_key),
        "row": _spread([k[1] for k in keys], per_key),
        "column": _spread([k[2] for k in keys], per_key),
        "value": _decimals(values, scale, all_int),
    }
    if not csv:
        return pa.table(columns), None
    # In Excel a name starting with "=" must not become a formula; counts print as 12, not
    # 12.0000, amounts keep their places.
    text = pc.replace_substring_regex(columns["value"].cast(pa.string()), pattern=r"\.0+$", replacement="")
    shown = {
        **columns,
        "unit_code": _spread([csv_safe(v) for v in codes], per_report),
        "unit_name": _spread([csv_safe(v) for v in names], per_report),
    }
    plain = {name: array.cast(pa.string()) for name, array in shown.items() if name not in ("year", "value")}
    return pa.table(columns), pa.table({**shown, **plain, "value": text})


def write_values(form: Form, units: Iterable[Report], district: Report, parquet: Path, csv: Path | None) -> None:
    """The summed units (scope "unit") then the merged totals (scope "total"), chunk by chunk,
    each file written atomically; `csv=None` writes the Parquet file only."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    scoped = [*(("unit", r) for r in units), ("total", district)]
    with ExitStack() as stack:
        parquet_writer = None
        csv_writer = None
        csv_handle = None
        if csv is not None:
            csv_handle = stack.enter_context(open(stack.enter_context(atomic_path(csv)), "wb"))
            csv_handle.write("\ufeff".encode())  # the byte order mark makes Excel read UTF-8 Chinese text
        parquet_tmp = stack.enter_context(atomic_path(parquet))
        for chunk in _chunks(scoped, CHUNK_UNITS):
            table, text = _table(form, chunk, district.year, csv_handle is not None)
            if parquet_writer is None:
                parquet_writer = stack.enter_context(pq.ParquetWriter(parquet_tmp, table.schema))
            parquet_writer.write_table(table)
            if csv_handle is not None and text is not None:
                if csv_writer is None:
                    options = pacsv.WriteOptions(quoting_style="needed")
                    csv_writer = stack.enter_context(pacsv.CSVWriter(csv_handle, text.schema, write_options=options))
                csv_writer.write_table(text)
