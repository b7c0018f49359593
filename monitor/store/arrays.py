"""Many rows in one short statement on PostgreSQL: ``INSERT … SELECT FROM unnest(...)``.

SQLAlchemy sends an executemany with RETURNING as multi-row ``VALUES`` statements, and
psycopg parses any statement over 4 KB (or 50 parameters) again each time it runs: the
1,000-row upserts of a 50,000-item poll, 21,000 parameters each, took 5 s of its CPU
there. With one array parameter per column (and one scalar for a value every row shares)
the statement is short, and parsed once. SQLite keeps its ``VALUES`` (``executemany``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert


def insert_arrays(table: Any, arrays: Sequence[str], scalars: Sequence[str] = ()) -> Any:
    """``INSERT INTO table (arrays…, scalars…) SELECT … FROM unnest(…)``, to which an
    ``on_conflict_…`` and ``returning`` may be added; ``params_of`` gives its parameters."""
    rows = (
        func.unnest(*(bindparam(f"a_{name}", type_=ARRAY(table.c[name].type)) for name in arrays))
        .table_valued(*arrays)
        .render_derived()
    )  # AS anon(col, …): unnest of several arrays
    shared = [bindparam(f"s_{name}", type_=table.c[name].type) for name in scalars]
    return pg_insert(table).from_select([*arrays, *scalars], select(*rows.c, *shared))


def params_of(
    rows: Sequence[Mapping[str, Any]], arrays: Sequence[str], scalars: Sequence[str] = ()
) -> dict[str, Any]:
    """``insert_arrays``'s parameters for these rows (``scalars``: as in the first)."""
    values = {f"a_{name}": [row[name] for row in rows] for name in arrays}
    return values | {f"s_{name}": rows[0][name] for name in scalars}
