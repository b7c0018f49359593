"""Many rows in one statement, their parameters converted a column at a time: on
PostgreSQL ``INSERT … SELECT FROM unnest(...)`` (``insert_arrays``), on SQLite the driver's
statement (``execute_rows``).

SQLAlchemy sends an executemany with RETURNING as multi-row ``VALUES`` statements, and
psycopg parses any statement over 4 KB (or 50 parameters) again each time it runs: the
1,000-row upserts of a 50,000-item poll, 21,000 parameters each, took 5 s of its CPU
there. With one array parameter per column (and one scalar for a value every row shares)
the statement is short, and parsed once. SQLite keeps its ``VALUES`` (``executemany``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

from sqlalchemy import any_, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection


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


# SQLite: the driver's own statement for many rows ---------------------------------------


async def execute_rows(
    connection: AsyncConnection, statement: Any, rows: Sequence[Mapping[str, Any]]
) -> list[Any]:
    """``connection.execute(statement, rows).all()`` on SQLite, the rows' parameters
    converted a column at a time rather than a row at a time by SQLAlchemy (a third of the
    poll process's CPU on a 50,000-item feed: four statements of 50,000 rows each).

    An INSERT with RETURNING goes as multi-row ``VALUES`` statements, as SQLAlchemy would
    send it (within SQLite's 32,766 parameters each); any other statement as the driver's
    executemany. The statement is the one SQLAlchemy compiles for these columns, so it stays
    what the table and its ``on_conflict`` say. Returned rows are read by name."""
    if connection.dialect.name != "sqlite":  # its "?" and tuples are SQLite's (qmark)
        raise ValueError("execute_rows is for SQLite; PostgreSQL takes insert_arrays")
    if not rows:
        return []
    plan = _plan(statement, tuple(rows[0]), connection.dialect)
    if not plan.many_values:
        params = list(zip(*(column(rows) for column in plan.columns), strict=True))
        await connection.exec_driver_sql(plan.head, params)
        return []
    per_statement = max(1, min(_ROWS, (_PARAMETERS - len(plan.tail_values)) // plan.width))
    returned: list[Any] = []
    for start in range(0, len(rows), per_statement):
        some = rows[start : start + per_statement]
        # a column at a time (a comprehension and a map each), then row after row: a call
        # per value was a third of this function's time (50,000 rows of 21 columns)
        columns = zip(*(column(some) for column in plan.columns), strict=True)
        values = list(chain.from_iterable(columns))
        sql = plan.head + ", ".join([plan.group] * len(some)) + plan.tail
        result = await connection.exec_driver_sql(sql, (*values, *plan.tail_values))
        returned += result.all()
    return returned


_ROWS = 1000  # rows per statement at most, as SQLAlchemy's insertmanyvalues sends them
_PARAMETERS = 32766  # SQLite's limit on a statement's parameters (SQLITE_MAX_VARIABLE_NUMBER)


_Column = Callable[[Sequence[Mapping[str, Any]]], list[Any]]


@dataclass(frozen=True, slots=True)
class _Plan:
    head: str  # the whole statement when not ``many_values``
    group: str = ""  # one row's "(?, ?, …)"
    tail: str = ""
    many_values: bool = False
    width: int = 0  # parameters per row
    columns: tuple[_Column, ...] = ()  # per parameter, in order: its values in these rows
    tail_values: tuple[Any, ...] = ()  # the statement's own (``revision + 1``'s 1)


_plans: dict[tuple[int, tuple[str, ...], str], tuple[Any, _Plan]] = {}


def _plan(statement: Any, keys: tuple[str, ...], dialect: Any) -> _Plan:
    """How to send ``statement`` for rows of these keys (built once: the statements are
    module constants)."""
    cache_key = (id(statement), keys, dialect.name)
    known = _plans.get(cache_key)
    if known is not None and known[0] is statement:
        return known[1]
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))
    sql: str = compiled.string
    order: list[str] = list(compiled.positiontup or ())

    def column(name: str) -> _Column:
        bind = compiled.binds[name]
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if name in keys:
            if process is None:
                return lambda rows: [row[name] for row in rows]
            return lambda rows: list(map(process, [row[name] for row in rows]))
        value = bind.effective_value if process is None else process(bind.effective_value)
        return lambda rows: [value] * len(rows)

    plan = _Plan(head=sql, columns=tuple(map(column, order)))
    if compiled.isinsert and compiled.effective_returning:
        at = sql.index(" VALUES (") + len(" VALUES ")
        end = sql.index(")", at) + 1
        group = sql[at:end]
        width = group.count("?")
        if (
            group != "(" + ", ".join(["?"] * width) + ")"
            or sql.count("?", end) != len(order) - width
        ):
            raise ValueError(f"unexpected statement for many rows: {sql[:200]}")
        plan = _Plan(
            head=sql[:at],
            group=group,
            tail=sql[end:],
            many_values=True,
            width=width,
            columns=plan.columns[:width],
            tail_values=tuple(values([{}])[0] for values in plan.columns[width:]),
        )
    _plans[cache_key] = (statement, plan)
    return plan


# PostgreSQL: one array where an expanding IN would be ---------------------------------
# (issue 23) ``column IN (…)`` of 2,000 keys is a statement of over 4 KB, which psycopg
# parses again at every run (``_query2pg_nocache``); ``column = ANY(:array)`` is one
# short statement, cached and prepared, whatever the number of values.


def any_of(column: Any, values: Sequence[Any]) -> Any:
    """``column = ANY(:array)``, the array bound to ``values``."""
    return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))


_IN = 2000  # values per IN list on SQLite: well within its 32,766 parameters


def selecting(dialect: str, column: Any, values: Collection[Any]) -> list[Any]:
    """Conditions that together select the rows whose ``column`` is one of ``values``: on
    PostgreSQL one ``any_of``; elsewhere ``IN`` lists of at most 2,000 values each."""
    ordered = sorted(values)
    if not ordered:
        return []
    if dialect == "postgresql":
        return [any_of(column, ordered)]
    return [column.in_(ordered[start : start + _IN]) for start in range(0, len(ordered), _IN)]


def update_arrays(table: Any, key: str, arrays: Sequence[str]) -> Any:
    """``UPDATE table SET col = u.col, … FROM unnest(:a_key, :a_col, …) AS u WHERE
    table.key = u.key``: many rows updated by one statement of one array per column
    (``params_of(rows, (key, *arrays))`` gives its parameters), where an executemany has
    psycopg dump and send every row apart."""
    names = (key, *arrays)
    rows = (
        func.unnest(*(bindparam(f"a_{name}", type_=ARRAY(table.c[name].type)) for name in names))
        .table_valued(*names)
        .render_derived()
    )
    return (
        update(table)
        .where(table.c[key] == rows.c[key])
        .values({name: rows.c[name] for name in arrays})
    )


# SQLite: many rows given as columns ------------------------------------------------------


async def execute_columns(
    connection: AsyncConnection,
    statement: Any,
    columns: Mapping[str, Sequence[Any]],
    shared: Mapping[str, Any] | None = None,
) -> None:
    """``execute_rows`` for rows given as equal-length ``columns`` (and ``shared``: values
    every row has), for a statement without RETURNING: each value converted once by its
    type's bind processor, the rows zipped into the driver's tuples — no mapping built per
    row (the match step's story bands, 25 a release: 0.9 s of 6 s draining 8,000 releases
    as rows, issue 23)."""
    if connection.dialect.name != "sqlite":
        raise ValueError("execute_columns is for SQLite; PostgreSQL takes insert_arrays")
    shared = shared or {}
    dialect = connection.dialect
    compiled = statement.compile(dialect=dialect, column_keys=[*columns, *shared])
    if compiled.effective_returning:
        raise ValueError("execute_columns takes no RETURNING: execute_rows does")
    count = len(next(iter(columns.values()), ()))
    converted: list[Sequence[Any]] = []
    for name in compiled.positiontup or ():
        bind = compiled.binds[name]
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if name in columns:
            values = columns[name]
            converted.append(values if process is None else [process(v) for v in values])
        else:  # shared, or the statement's own
            value = shared.get(name, bind.effective_value)
            converted.append([value if process is None else process(value)] * count)
    rows = list(zip(*converted, strict=True))
    if rows:
        await connection.exec_driver_sql(compiled.string, rows)
