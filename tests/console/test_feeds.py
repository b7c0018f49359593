"""Feeds out: a rule's latest matches as Atom, read back with feedparser; a token in the
URL (viewer suffices), hostile titles kept as text."""

from __future__ import annotations

import feedparser

from monitor.store import tokens
from tests.console.conftest import HOSTILE_TITLES, Console, seed_release


async def test_a_rule_feed_is_valid_atom_of_its_matches(console: Console) -> None:
    token = await tokens.create_token(console.engine, "reader", "viewer", actor="test")
    async with console.client() as client:
        assert (await client.get("/feeds/rules/nato.atom")).status_code == 401
        assert (await client.get("/feeds/rules/nato.atom?token=mon_nope")).status_code == 401
        missing = await client.get(f"/feeds/rules/nope.atom?token={token}")
        assert missing.status_code == 404
        response = await client.get(f"/feeds/rules/nato.atom?token={token}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    assert token not in response.text  # the self link leaves the token out
    parsed = feedparser.parse(response.content)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.title == "monitor: NATO"
    titles = [entry.title for entry in parsed.entries]
    seed_title, _ = seed_release()
    assert any(title.startswith(seed_title[:30]) for title in titles)
    for hostile in HOSTILE_TITLES:  # escaped on the way out, intact on the way back
        assert hostile in titles, (hostile, titles)
    assert all(entry.id.startswith("urn:monitor:release:") for entry in parsed.entries)
    assert all(entry.get("updated") for entry in parsed.entries)
