"""The write API of rules and sources, the rule test and mutes (SPEC section 5), on
SQLite and PostgreSQL: roles, 409 for file items and stale versions, 422 naming the field
and the column of a query error, every change in the audit log."""

from __future__ import annotations

import asyncio

import httpx

from monitor.store import tokens
from tests.console.conftest import Console

GULF = {"id": "gulf", "name": "الخليج", "query": "قطر OR الخليج", "channels": ["log"]}


async def _client(console: Console, role: str) -> httpx.AsyncClient:
    token = await tokens.create_token(console.engine, f"t-{role}", role, actor="test")
    client = console.client()
    client.headers["Authorization"] = f"Bearer {token}"
    return client


async def test_rules_are_written_checked_and_versioned(console: Console) -> None:
    editor, viewer = await _client(console, "editor"), await _client(console, "viewer")
    async with editor, viewer:
        typo = {**GULF, "query": "الناتو or (قطر"}
        refused = await editor.post("/api/v1/rules", json=typo)
        assert refused.status_code == 422
        error = refused.json()["error"]
        assert error["field"] == "query" and error["column"] > 1
        assert "OR" in error["message"]  # the lower-case operator hint
        unknown = await editor.post("/api/v1/rules", json={**GULF, "channels": ["hok"]})
        assert unknown.status_code == 422
        assert unknown.json()["error"] == {
            "code": "invalid",
            "message": "channels.0: unknown channel 'hok'; did you mean 'hook'?",
            "field": "channels.0",
        }
        assert (await viewer.post("/api/v1/rules", json=GULF)).status_code == 403

        made = await editor.post("/api/v1/rules", json=GULF)
        assert made.status_code == 201, made.text
        assert made.json()["origin"] == "console" and made.json()["version"] == 1
        listed = {r["id"]: r for r in (await viewer.get("/api/v1/rules")).json()["items"]}
        assert listed["nato"]["origin"] == "file" and listed["gulf"]["origin"] == "console"
        assert listed["gulf"]["name"] == "الخليج" and listed["gulf"]["muted_until"] is None

        # two editors save version 1 at once: one wins, the other gets 409, nothing lost
        first, second = await asyncio.gather(
            editor.put("/api/v1/rules/gulf", json={**GULF, "name": "A", "version": 1}),
            editor.put("/api/v1/rules/gulf", json={**GULF, "name": "B", "version": 1}),
        )
        assert sorted([first.status_code, second.status_code]) == [200, 409]
        loser = second if second.status_code == 409 else first
        assert "read it again" in loser.json()["error"]["message"]
        winner = first if loser is second else second
        kept = (await viewer.get("/api/v1/rules/gulf")).json()
        assert kept["name"] == winner.json()["name"] and kept["version"] == 2

        file_rule = await editor.put("/api/v1/rules/nato", json={"query": "x", "version": 1})
        assert file_rule.status_code == 409
        assert "config file" in file_rule.json()["error"]["message"]
        clash = await editor.post("/api/v1/rules", json={**GULF, "id": "nato"})
        assert clash.status_code == 409
        no_version = await editor.put("/api/v1/rules/gulf", json=GULF)
        assert no_version.status_code == 422 and no_version.json()["error"]["field"] == "version"
        headed = await editor.put("/api/v1/rules/gulf", json=GULF, headers={"If-Match": "2"})
        assert headed.status_code == 200 and headed.json()["version"] == 3

        assert (await viewer.delete("/api/v1/rules/gulf")).status_code == 403
        assert (await editor.delete("/api/v1/rules/nato")).status_code == 409
        assert (await editor.delete("/api/v1/rules/gulf?version=1")).status_code == 409
        assert (await editor.delete("/api/v1/rules/gulf")).status_code == 204
        assert (await viewer.get("/api/v1/rules/gulf")).status_code == 404

    admin = await _client(console, "admin")
    async with admin:
        log = (await admin.get("/api/v1/audit")).json()["items"]
    rules = [(e["action"], e["actor"]) for e in log if e["action"].startswith("rule.")]
    assert rules[0] == ("rule.delete", "token:t-editor")
    assert rules[-1] == ("rule.create", "token:t-editor")
    assert len([a for a, _ in rules if a == "rule.update"]) == 2
    deleted = next(e for e in log if e["action"] == "rule.delete")
    assert deleted["before"]["query"] == GULF["query"] and deleted["target"] == "gulf"


async def test_a_mute_is_set_shown_and_ended(console: Console) -> None:
    editor, viewer = await _client(console, "editor"), await _client(console, "viewer")
    async with editor, viewer:
        assert (await viewer.post("/api/v1/rules/nato/mute", json={"for": "1h"})).status_code == 403
        muted = await editor.post("/api/v1/rules/nato/mute", json={"for": "1h"})
        assert muted.status_code == 200 and muted.json()["muted_until"] is not None
        bad = await editor.post("/api/v1/rules/nato/mute", json={"for": "soon"})
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "for"
        past = await editor.post("/api/v1/rules/nato/mute", json={"until": "2001-01-01T00:00"})
        assert past.status_code == 422 and past.json()["error"]["field"] == "until"
        assert (await editor.post("/api/v1/rules/nope/mute", json={"for": "1h"})).status_code == 404
        listed = {r["id"]: r for r in (await viewer.get("/api/v1/rules")).json()["items"]}
        assert listed["nato"]["muted_until"] == muted.json()["muted_until"]
        ended = await editor.delete("/api/v1/rules/nato/mute")
        assert ended.status_code == 200 and ended.json()["muted_until"] is None


async def test_the_rule_test_counts_and_explains(console: Console) -> None:
    viewer = await _client(console, "viewer")
    async with viewer:
        found = await viewer.post("/api/v1/rules/test", json={"query": "الناتو", "since": "7d"})
        assert found.status_code == 200, found.text
        result = found.json()
        assert result["releases"] >= 2 and result["stories"] >= 1  # the seed and its copy
        assert result["stories"] < result["releases"]
        assert sum(d["count"] for d in result["per_day"]) == result["releases"]
        assert len(result["per_day"]) == 8  # every day of the window, empty ones too
        sample = result["samples"][0]
        assert sample["matches"] and sample["why"].startswith("matched “")
        assert any(s["mark"] for s in sample["card"]["title_marks"] + sample["card"]["snippet"])
        scoped = await viewer.post(
            "/api/v1/rules/test", json={"query": "الناتو", "since": "7d", "sources": ["qna"]}
        )
        assert scoped.json()["releases"] == 1
        typo = await viewer.post("/api/v1/rules/test", json={"query": "(NATO OR"})
        assert typo.status_code == 422 and typo.json()["error"]["column"] >= 1
        nowhere = await viewer.post("/api/v1/rules/test", json={"query": "x", "sources": ["no"]})
        assert nowhere.status_code == 422 and nowhere.json()["error"]["field"] == "sources.0"


async def test_sources_are_written_and_their_releases_kept(console: Console) -> None:
    editor, viewer = await _client(console, "editor"), await _client(console, "viewer")
    async with editor, viewer:
        body = {"id": "extra", "url": "https://example.org/extra.rss", "language": "ar"}
        assert (await viewer.post("/api/v1/sources", json=body)).status_code == 403
        bad = await editor.post(
            "/api/v1/sources", json={**body, "type": "html", "select": {"item": "div["}}
        )
        assert bad.status_code == 422
        made = await editor.post("/api/v1/sources", json=body)
        assert made.status_code == 201 and made.json()["version"] == 1
        listed = {s["id"]: s for s in (await viewer.get("/api/v1/sources")).json()["items"]}
        assert listed["extra"]["origin"] == "console" and listed["mofa-ar"]["origin"] == "file"
        assert listed["extra"]["status"] == "never"
        file_source = await editor.delete("/api/v1/sources/mofa-ar")
        assert file_source.status_code == 409
        rule = {**GULF, "sources": ["extra"]}
        assert (await editor.post("/api/v1/rules", json=rule)).status_code == 201
        used = await editor.delete("/api/v1/sources/extra")
        assert used.status_code == 409 and "gulf" in used.json()["error"]["message"]
        assert (await editor.delete("/api/v1/rules/gulf")).status_code == 204
        assert (await editor.delete("/api/v1/sources/extra")).status_code == 204
        assert (await viewer.get("/api/v1/sources/extra")).status_code == 404
        releases = (await viewer.get("/api/v1/releases?source=mofa-ar")).json()["items"]
        assert releases  # the file's source's archive, untouched
