"""Set-based inserts: PostgreSQL COPY, with bulk_create where there is no COPY (SQLite).

COPY runs inside the caller's transaction (a job's chunk), so a chunk's coupons and its marker
commit together or not at all. A unique violation surfaces as Django's IntegrityError.
"""

import io
from collections.abc import Iterable, Sequence

from django.db import connection


def copy_supported() -> bool:
    return connection.vendor == "postgresql"


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _text_value(value) -> str:
    """One field of COPY's text format: \\N is NULL, backslash and separators escaped."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value).translate(_ESCAPES)


def insert_rows(
    model, fields: Sequence[str], rows: Iterable[Sequence], *, constants: dict | None = None
) -> int:
    """Insert rows into `model`'s table. `rows` hold the values of `fields` (FKs as `<name>_id`);
    `constants` the values every row shares (formatted once, not per row)."""
    rows = list(rows)
    constants = constants or {}
    if not rows:
        return 0
    if not copy_supported():
        model.objects.bulk_create(
            [model(**constants, **dict(zip(fields, row, strict=True))) for row in rows],
            batch_size=2000,
        )
        return len(rows)
    names = [*fields, *constants]
    columns = [model._meta.get_field(name).column for name in names]
    suffix = "".join("\t" + _text_value(v) for v in constants.values()) + "\n"
    buffer = io.StringIO()
    if len(fields) == 1:
        buffer.writelines(_text_value(row[0]) + suffix for row in rows)
    else:
        buffer.writelines("\t".join(map(_text_value, row)) + suffix for row in rows)
    buffer.seek(0)
    sql = "COPY {table} ({columns}) FROM STDIN".format(
        table=connection.ops.quote_name(model._meta.db_table),
        columns=", ".join(connection.ops.quote_name(c) for c in columns),
    )
    with connection.cursor() as cursor, connection.wrap_database_errors:
        cursor.copy_expert(sql, buffer)
    return len(rows)


def insert_values(model, field: str, values: Sequence[str], *, constants: dict) -> int:
    """Insert one row per plain string of `values` (codes) into `field`, the rest `constants`.

    The fast path of a million-code job: the COPY text is built by one `join` in C. Values that
    would need escaping in COPY's text format take the general path instead.
    """
    if not values:
        return 0
    if not copy_supported():
        return insert_rows(model, (field,), [(v,) for v in values], constants=constants)
    suffix = "".join("\t" + _text_value(v) for v in constants.values()) + "\n"
    text = suffix.join(values) + suffix
    if "\\" in text or "\r" in text or text.count("\n") != len(values):
        return insert_rows(model, (field,), [(v,) for v in values], constants=constants)
    columns = [model._meta.get_field(name).column for name in (field, *constants)]
    sql = "COPY {table} ({columns}) FROM STDIN".format(
        table=connection.ops.quote_name(model._meta.db_table),
        columns=", ".join(connection.ops.quote_name(c) for c in columns),
    )
    with connection.cursor() as cursor, connection.wrap_database_errors:
        cursor.copy_expert(sql, io.StringIO(text))
    return len(values)
