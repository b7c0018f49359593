"""What PostgreSQL spends its time on for one database: ``pg_stat_statements``, per poll.

The extension is cluster-wide once the server preloads it; its view is readable from any
database where ``CREATE EXTENSION pg_stat_statements`` was run (the local server's ``test``).
So the reader connects there and keeps the rows of one database (``dbid``); resetting
also touches that database's rows only, never other engineers'. Without the library
preloaded or the extension created, every function here says so and returns nothing.

    .venv/bin/python -m bench.pg_statements reset bench_sim_1234
    .venv/bin/python -m bench.pg_statements show bench_sim_1234 --polls 9600

``show`` prints the top statements by total execution time, with calls, time and shared
blocks per poll, and a line for everything together (statements and server time per poll
are the load-independent figures; BEGIN/COMMIT and the pool's pings are statements too).
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from typing import Any

ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


@dataclass(frozen=True, slots=True)
class Statement:
    query: str
    calls: int
    total_ms: float
    rows: int
    shared_hit: int
    shared_read: int
    shared_dirtied: int
    plans: int
    plan_ms: float


def _connect(admin: str) -> Any:
    import psycopg

    return psycopg.connect(admin, autocommit=True)


def available(admin: str = ADMIN) -> str | None:
    """None when the view can be read from ``admin``'s database, else why not."""
    try:
        with _connect(admin) as connection:
            preload = connection.execute("SHOW shared_preload_libraries").fetchone()
            if not preload or "pg_stat_statements" not in preload[0]:
                return "pg_stat_statements is not in shared_preload_libraries"
            found = connection.execute(
                "SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'"
            ).fetchone()
            if not found:
                return "the extension is not created in the admin database"
    except Exception as exc:  # no server, no rights: the bench goes on without the view
        return f"cannot read pg_stat_statements: {exc}"
    return None


def reset(database: str, admin: str = ADMIN) -> bool:
    """Forget the statements of ``database`` only; False when the view is unavailable."""
    if available(admin):
        return False
    with _connect(admin) as connection:
        connection.execute(
            "SELECT pg_stat_statements_reset(0, oid, 0) FROM pg_database WHERE datname = %s",
            (database,),
        )
    return True


def read(database: str, admin: str = ADMIN) -> list[Statement]:
    """The statements of ``database`` since its reset, largest total time first."""
    if available(admin):
        return []
    with _connect(admin) as connection:
        rows = connection.execute(
            "SELECT query, calls, total_exec_time, rows, shared_blks_hit, shared_blks_read,"
            " shared_blks_dirtied, plans, total_plan_time"
            " FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid"
            " WHERE d.datname = %s ORDER BY total_exec_time DESC",
            (database,),
        ).fetchall()
    return [Statement(*row) for row in rows]


def summary(statements: list[Statement], polls: int, top: int = 12) -> dict[str, Any]:
    """Per poll: every statement together, and the ``top`` by total execution time."""
    per = max(polls, 1)
    return {
        "statements_per_poll": round(sum(s.calls for s in statements) / per, 3),
        "exec_ms_per_poll": round(sum(s.total_ms for s in statements) / per, 4),
        "plan_ms_per_poll": round(sum(s.plan_ms for s in statements) / per, 4),
        "shared_blocks_per_poll": round(
            sum(s.shared_hit + s.shared_read for s in statements) / per, 2
        ),
        "top": [
            {
                "query": _short(s.query),
                "calls_per_poll": round(s.calls / per, 4),
                "exec_ms_per_poll": round(s.total_ms / per, 4),
                "mean_ms": round(s.total_ms / max(s.calls, 1), 4),
                "rows_per_call": round(s.rows / max(s.calls, 1), 2),
                "blocks_per_call": round((s.shared_hit + s.shared_read) / max(s.calls, 1), 1),
                "plans": s.plans,
            }
            for s in statements[:top]
        ],
        # the most frequent: round trips the server answers, cheap or not
        "most_called": [
            {"query": _short(s.query), "calls_per_poll": round(s.calls / per, 4)}
            for s in sorted(statements, key=lambda s: -s.calls)[:top]
        ],
    }


def _short(query: str, width: int = 110) -> str:
    flat = re.sub(r"\s+", " ", query).strip()
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def render(figures: dict[str, Any]) -> str:
    lines = [
        f"statements/poll {figures['statements_per_poll']}, server exec ms/poll"
        f" {figures['exec_ms_per_poll']}, plan ms/poll {figures['plan_ms_per_poll']},"
        f" shared blocks/poll {figures['shared_blocks_per_poll']}",
        f"{'calls/poll':>10} {'ms/poll':>8} {'mean ms':>8} {'rows':>7} {'blocks':>7}  query",
    ]
    for s in figures["top"]:
        lines.append(
            f"{s['calls_per_poll']:>10} {s['exec_ms_per_poll']:>8} {s['mean_ms']:>8}"
            f" {s['rows_per_call']:>7} {s['blocks_per_call']:>7}  {s['query']}"
        )
    lines.append(
        "most called: "
        + "; ".join(
            f"{s['calls_per_poll']} {s['query'][:40]}" for s in figures.get("most_called", [])
        )
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("reset", "show"))
    parser.add_argument("database")
    parser.add_argument("--polls", type=int, default=1, help="divide by this many polls")
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--admin", default=ADMIN)
    args = parser.parse_args()
    why = available(args.admin)
    if why:
        print(f"skipped: {why}")
        return
    if args.action == "reset":
        reset(args.database, args.admin)
        return
    print(render(summary(read(args.database, args.admin), args.polls, args.top)))


if __name__ == "__main__":
    main()
