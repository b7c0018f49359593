"""The CLI's ``sources``, ``releases`` and ``alerts`` and the console's API read through the
same store functions (issue 19): the real ``monitor`` command and the API, asked the same
filters on the same archive (SQLite and PostgreSQL), give the same rows — and each front
end is seen calling the one function."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitor.store import archive, reads, tokens
from tests.console.conftest import Console
from tests.console.served import monitor

# what only one front end has: how credentials in a URL are hidden (the CLI writes ***,
# the API drops them), whether a source is overdue (CLI), its language and origin (API)
_PRESENTATION = {"url", "moved_to", "overdue", "language", "origin"}


def _cli(config: Path, *args: str) -> list[dict[str, Any]]:
    done = monitor(config, *args, "--json")
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


async def _api(client: httpx.AsyncClient, token: str, path: str, **params: str) -> Any:
    answer = await client.get(
        f"/api/v1/{path}", params=params, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def _same(cli: dict[str, Any], api: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in cli.items() if k in api and k not in _PRESENTATION}


async def test_the_cli_and_the_api_give_the_same_rows(console: Console, tmp_path: Path) -> None:
    config = tmp_path / "monitor.yaml"  # the one ``archive_config`` wrote
    token = await tokens.create_token(console.engine, "cmp", "viewer", actor="test")
    async with console.client() as client:
        api_sources = (await _api(client, token, "sources"))["items"]
        cli_sources = _cli(config, "sources")
        assert [s["id"] for s in cli_sources] == [s["id"] for s in api_sources]
        for cli, api in zip(cli_sources, api_sources, strict=True):
            assert _same(cli, api) == {k: api[k] for k in _same(cli, api)}
            assert set(api) - _PRESENTATION <= set(cli)  # nothing the CLI leaves out
        assert sum(s["releases"] for s in cli_sources) > 0

        for filters in ({"status": "failed"}, {"rule": "nato", "channel": "hook"}, {}):
            options = [part for k, v in filters.items() for part in (f"--{k}", v)]
            cli_alerts = _cli(config, "alerts", *options)
            api_alerts = (await _api(client, token, "alerts", limit="200", **filters))["items"]
            assert cli_alerts, filters
            assert [_same(c, a) for c, a in zip(cli_alerts, api_alerts, strict=True)] == [
                {k: a[k] for k in _same(c, a)} for c, a in zip(cli_alerts, api_alerts, strict=True)
            ]

        # the API lists a story once, with its copies; the CLI every release of it
        for args, params in (
            (["--source", "wire"], {"source": "wire"}),
            (["--query", "الناتو"], {"q": "الناتو"}),
        ):
            cli_releases = _cli(config, "releases", *args)
            api_items = (await _api(client, token, "releases", limit="200", **params))["items"]
            listed = {r["id"] for r in api_items} | {
                c["id"] for r in api_items for c in r["copies"]
            }
            assert sorted(r["id"] for r in cli_releases) == sorted(listed)
            shown = {r["id"]: r for r in api_items}
            for row in cli_releases:
                if row["id"] in shown:
                    assert _same(row, shown[row["id"]]) == {
                        k: shown[row["id"]][k] for k in _same(row, shown[row["id"]])
                    }
        assert len(cli_releases) > len(api_items)  # the agency's copy of the seed release


async def test_both_front_ends_call_the_one_function(
    console: Console, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI's commands in-process and the API, each call counted on the real function."""
    from typer.testing import CliRunner

    from monitor.cli.app import app

    calls: dict[str, list[str]] = {}
    front = ["api"]

    def counted(module: Any, name: str) -> None:
        real: Callable[..., Any] = getattr(module, name)

        async def through(*args: Any, **kwargs: Any) -> Any:
            calls.setdefault(name, []).append(front[0])
            return await real(*args, **kwargs)

        monkeypatch.setattr(module, name, through)

    for module, name in (
        (reads, "source_health"),
        (reads, "alert_page"),
        (reads, "alert_detail"),
        (archive, "release_page"),
    ):
        counted(module, name)
    token = await tokens.create_token(console.engine, "spy", "viewer", actor="test")
    async with console.client() as client:
        await _api(client, token, "sources")
        alerts = (await _api(client, token, "alerts"))["items"]
        await _api(client, token, "alerts/" + alerts[0]["id"])
        await _api(client, token, "releases", q="الناتو")
    front[0] = "cli"
    config = str(tmp_path / "monitor.yaml")
    runner = CliRunner()
    for command in (
        ["sources"],
        ["alerts"],
        ["alerts", "show", alerts[0]["id"]],
        ["releases", "--query", "الناتو"],
    ):
        # in a thread: the command runs its own event loop, as it does from a shell
        done = await asyncio.to_thread(
            runner.invoke, app, ["--config", config, *command], catch_exceptions=False
        )
        assert done.exit_code == 0, done.output
    assert {name: sorted(set(fronts)) for name, fronts in calls.items()} == {
        name: ["api", "cli"]
        for name in ("source_health", "alert_page", "alert_detail", "release_page")
    }
