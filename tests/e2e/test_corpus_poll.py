"""Polling the real-world corpus over loopback, as `monitor poll` does.

Every feed written by others ingests without an exception and stores one release per
distinct entry; a second poll sends conditional requests and stores nothing; a third, from
a server that sends no validators and changes an insignificant byte, parses everything
again and still stores nothing.
"""

from __future__ import annotations

import hashlib
import io
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from monitor.config.load import load_config
from monitor.poll_driver import poll_once
from monitor.store.session import open_store
from tests.conftest import corpus_index
from tests.support.http_server import LoopbackServer, Request, Response

SKIP = ("expected-output", "expected-json", "not-a-feed", "category")


def corpus_files() -> list[tuple[str, Path]]:
    out = []
    for feed in corpus_index():
        if any(s in feed.category for s in SKIP):
            continue
        if feed.path.is_file():
            out.append((f"f{len(out):03d}", feed.path))
    return out


def expected_distinct(body: bytes) -> int:
    """Distinct entries as feedparser sees them: by id, else link, else title and date."""
    import json

    import feedparser

    if body.lstrip()[:1] == b"{":
        items = json.loads(body).get("items", [])
        return len({str(i.get("id") or i.get("url") or i.get("title")) for i in items})
    parsed = feedparser.parse(
        io.BytesIO(body), response_headers={"content-type": "application/xml"}
    )
    keys = {
        e.get("id") or e.get("link") or (e.get("title"), e.get("published")) for e in parsed.entries
    }
    return len(keys)


def whitespace_in(body: bytes) -> bytes:
    """Trailing whitespace in the body's own encoding: different bytes, the same feed."""
    if body.startswith(b"\xff\xfe"):
        return "\n \n".encode("utf-16-le")
    if body.startswith(b"\xfe\xff"):
        return "\n \n".encode("utf-16-be")
    return b"\n \n"


def serve(body: bytes, *, validators: bool, salt: bytes = b"") -> Callable[[Request], Response]:
    tag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'

    def handler(request: Request) -> Response:
        if validators and request.headers.get("If-None-Match") == tag:
            return Response(304)
        headers = {"Content-Type": "application/xml"}
        if validators:
            headers["ETag"] = tag
            headers["Last-Modified"] = "Wed, 13 Mar 2019 07:00:00 GMT"
        return Response(200, body + salt, headers)

    return handler


@pytest.mark.slow
async def test_corpus_ingests_and_repolls_store_nothing(
    tmp_path: Path, sqlite_url: str, http_server: LoopbackServer
) -> None:
    files = corpus_files()
    assert len(files) > 200
    bodies = {name: path.read_bytes() for name, path in files}
    for name, body in bodies.items():
        http_server.route(f"/{name}", serve(body, validators=True))
    sources = "\n".join(
        f"  - id: {name}\n    url: {http_server.url('/' + name)}" for name in bodies
    )
    config_path = tmp_path / "monitor.yaml"
    config_path.write_text(
        f"database: {sqlite_url}\ndefaults: {{max_connections_per_host: 8}}\nsources:\n{sources}\n"
        + textwrap.dedent("""
        rules:
          - id: nato
            query: 'NATO OR الناتو'
            channels: [console]
        channels:
          - id: console
            type: log
        """),
        encoding="utf-8",
    )
    config = load_config(config_path, environ_database=False)
    names = sorted(bodies)

    first = {o.source_id: o for o in (await poll_once(config, names, True, None)).outcomes}
    failures = {n: o.error for n, o in first.items() if not o.ok}
    assert failures == {}
    engine = await open_store(sqlite_url)
    try:
        async with engine.connect() as conn:
            stored = dict(
                (
                    await conn.execute(
                        sa.text("SELECT source_id, count(*) FROM releases GROUP BY source_id")
                    )
                ).all()
            )
            total = (await conn.execute(sa.text("SELECT count(*) FROM releases"))).scalar_one()
        mismatched = {
            n: (stored.get(n, 0), expected_distinct(bodies[n]))
            for n in names
            if stored.get(n, 0) != expected_distinct(bodies[n])
        }
        assert mismatched == {}

        second = (await poll_once(config, names, True, None)).outcomes
        assert all(o.ok and o.not_modified for o in second)
        conditional = [r for r in http_server.requests if r.headers.get("If-None-Match")]
        assert len(conditional) == len(names)

        for name, body in bodies.items():
            http_server.route(f"/{name}", serve(body, validators=False, salt=whitespace_in(body)))
        third = (await poll_once(config, names, True, None)).outcomes
        assert all(o.ok and not o.not_modified for o in third)
        assert sum(o.new + o.revised for o in third) == 0
        async with engine.connect() as conn:
            assert (
                await conn.execute(sa.text("SELECT count(*) FROM releases"))
            ).scalar_one() == total
    finally:
        await engine.dispose()
