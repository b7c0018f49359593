"""The rules list and the rule workbench over HTTP (in-process): the query checked as it
is typed, "Test" with highlights and why, Save for editors only, mutes shown and set, and
each change in the audit page."""

from __future__ import annotations

import re

from tests.console.conftest import Console, sign_in


async def test_workbench_checks_tests_saves_and_mutes(console: Console) -> None:
    async with console.client() as client:
        csrf = await sign_in(client, "eve")
        listing = await client.get("/rules")
        assert listing.status_code == 200
        assert 'class="spark"' in listing.text and "in 30 days" in listing.text
        assert re.search(r'class="bar b[1-8]"', listing.text)  # nato matched in the archive

        blank = await client.get("/rules/new")
        for label in ("Id", "Name", "Query", "Test over the last"):
            assert f">{label}</label>" in blank.text
        assert "<legend>Channels</legend>" in blank.text and ">Save</button>" in blank.text

        typo = await client.get("/rules/check", params={"query": "الناتو or (قطر"})
        assert 'id="query-error"' in typo.text and "at column" in typo.text
        fine = await client.get("/rules/check", params={"query": "الناتو OR قطر"})
        assert "reads well" in fine.text

        tried = await client.get("/rules/try", params={"query": "الناتو", "since": "7d"})
        assert tried.status_code == 200
        assert "<mark>الناتو</mark>" in tried.text and "Why:" in tried.text
        assert "releases matched" in tried.text

        form = {"csrf": csrf, "id": "gulf", "name": "الخليج", "query": "الناتو or (قطر"}
        refused = await client.post("/rules/new", data={**form, "channels": "log"})
        assert refused.status_code == 422 and "at column" in refused.text
        saved = await client.post(
            "/rules/new", data={**form, "query": "الناتو OR قطر", "channels": ["log", "hook"]}
        )
        assert saved.status_code == 303 and saved.headers["location"] == "/rules/gulf?saved=1"
        page = await client.get("/rules/gulf")
        assert 'name="version" value="1"' in page.text and ">Save</button>" in page.text

        changed = await client.post(
            "/rules/gulf",
            data={**form, "query": "قطر", "channels": "log", "version": "1"},
        )
        assert changed.status_code == 303
        stale = await client.post(
            "/rules/gulf", data={**form, "query": "x", "channels": "log", "version": "1"}
        )
        assert stale.status_code == 409 and "read it again" in stale.text

        muted = await client.post("/rules/nato/mute", data={"csrf": csrf, "for": "1h"})
        assert muted.status_code == 303
        nato = await client.get("/rules/nato")
        assert "pill-muted" in nato.text and "read-only here" in nato.text
        assert ">Save</button>" not in nato.text  # a file rule: no Save
        assert "pill-muted" in (await client.get("/rules")).text
        for path in ("/", "/alerts?rule=nato"):  # every page that names the rule says so
            assert 'class="pill pill-muted"' in (await client.get(path)).text, path
        listed = await client.get("/alerts?rule=nato")
        alert_id = re.search(r'href="/alerts/([0-9a-f]+)"', listed.text)
        assert alert_id is not None
        detail = await client.get(f"/alerts/{alert_id.group(1)}")
        assert 'class="pill pill-muted"' in detail.text
        until = await client.post(
            "/rules/nato/mute", data={"csrf": csrf, "until": "2999-01-01T08:00"}
        )
        assert until.status_code == 303
        assert (await client.post("/rules/nato/unmute", data={"csrf": csrf})).status_code == 303
        assert "pill-muted" not in (await client.get("/rules/nato")).text

    async with console.client() as client:
        await sign_in(client, "vic")
        page = await client.get("/rules/gulf")
        assert page.status_code == 200 and ">Save</button>" not in page.text
        assert "Mute 1 h" not in page.text

    async with console.client() as client:
        await sign_in(client, "ada")
        log = (await client.get("/audit")).text
        for action in ("rule.create", "rule.update", "rule.mute", "rule.unmute"):
            assert action in log
        assert "الخليج" in log  # before and after, readable
