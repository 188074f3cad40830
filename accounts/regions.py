"""The region tree (provinces → cities → service zones): what lies below and above a region.

Naming a region anywhere (a segment, a list filter, a coupon batch's scope, a regional
operator's grant) means that region and everything below it. Customers and merchants sit on the
zones, so a filter on a province must walk the tree. Each walk is one recursive query, on
PostgreSQL and SQLite alike, however deep the tree.
"""

from collections.abc import Iterable

from django.db import connection

from .models import Region

_TABLE = Region._meta.db_table


def _walk(tenant, seed_sql: str, seed_params: list, *, down: bool) -> dict[int, int | None]:
    """{id: parent id} of the seed regions and all below (`down`) or above them."""
    step = "r.parent_id = t.id" if down else "r.id = t.parent_id"
    sql = (
        f"WITH RECURSIVE t(id, parent_id) AS ("
        f" SELECT id, parent_id FROM {_TABLE} WHERE tenant_id = %s AND {seed_sql}"
        f" UNION SELECT r.id, r.parent_id FROM {_TABLE} r JOIN t ON {step}"
        f" WHERE r.tenant_id = %s"
        f") SELECT id, parent_id FROM t"
    )
    tenant_id = getattr(tenant, "pk", tenant)
    with connection.cursor() as cursor:
        cursor.execute(sql, [tenant_id, *seed_params, tenant_id])
        return dict(cursor.fetchall())


def _in(column: str, values: list) -> tuple[str, list]:
    return f"{column} IN ({', '.join(['%s'] * len(values))})", values


def region_descendant_ids(*, tenant, region_ids: Iterable[int]) -> set[int]:
    """The regions given and every region below them."""
    region_ids = list(region_ids)
    if not region_ids:
        return set()
    return set(_walk(tenant, *_in("id", region_ids), down=True))


def region_ancestor_ids(*, tenant, region_ids: Iterable[int]) -> set[int]:
    """The regions given and every region above them."""
    region_ids = list(region_ids)
    if not region_ids:
        return set()
    return set(_walk(tenant, *_in("id", region_ids), down=False))


def region_subtree_ids(*, tenant, codes: Iterable[str]) -> set[int]:
    """The regions named by code and every region below them (unknown codes name nothing)."""
    codes = [str(c) for c in codes]
    if not codes:
        return set()
    return set(_walk(tenant, *_in("code", codes), down=True))


def region_path(*, tenant, region_id: int) -> list[int]:
    """The region, its parent, and so on up to its root: nearest first."""
    parent_of = _walk(tenant, "id = %s", [region_id], down=False)
    path: list[int] = []
    node: int | None = region_id
    while node is not None and node in parent_of and node not in path:
        path.append(node)
        node = parent_of[node]
    return path
