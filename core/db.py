"""Statements the ORM has no method for, shared by the services' hot paths."""

from django.db import connection


def insert_unless_exists(obj, *, unique: tuple[str, ...], partial: str | None = None) -> bool:
    """INSERT the unsaved `obj` unless its table already holds a row with the same `unique`
    fields (a unique constraint of that table; of a partial one, `partial` names the field
    its condition requires not null). True, with `obj.pk` set, when it was inserted.

    One statement, INSERT … ON CONFLICT DO NOTHING RETURNING (PostgreSQL, SQLite >= 3.35),
    instead of a savepoint, the INSERT and the savepoint's release, and nothing to roll back
    on a duplicate. A concurrent insert of the same key waits for the other transaction: if it
    commits, nothing is inserted and the caller reads that row; if it rolls back, this one goes in.
    """
    meta = obj._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    values = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    target = "(" + ", ".join(quote(meta.get_field(name).column) for name in unique) + ")"
    if partial:
        target += f" WHERE {quote(meta.get_field(partial).column)} IS NOT NULL"
    with connection.cursor() as cursor:
        cursor.execute(
            # Names from the model; every value is bound.
            f"INSERT INTO {quote(meta.db_table)} ({columns})"
            f" VALUES ({', '.join(['%s'] * len(fields))})"
            f" ON CONFLICT {target} DO NOTHING RETURNING {quote(meta.pk.column)}",
            values,
        )
        row = cursor.fetchone()
    if row is None:
        return False
    obj.pk = row[0]
    obj._state.adding = False
    obj._state.db = connection.alias
    return True
