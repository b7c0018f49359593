"""`monitor users …` and `monitor tokens …`, as an operator runs them: a password from
stdin, one line per refusal, tokens shown once and usable, everything in the audit log."""

from __future__ import annotations

import asyncio
import json
import textwrap
from pathlib import Path

from monitor.console.passwords import verify_async
from monitor.store import audit, people, tokens
from monitor.store.session import open_store
from tests.console.served import monitor


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "monitor.yaml"
    path.write_text(
        textwrap.dedent(f"""
        database: sqlite:///{tmp_path / "monitor.db"}
        sources: [{{id: mofa, url: "https://mofa.example/rss"}}]
        rules: [{{id: nato, query: NATO, channels: [log]}}]
        channels: [{{id: log, type: log}}]
        """),
        encoding="utf-8",
    )
    return path


def _store_check(config: Path, check: object) -> object:
    async def run() -> object:
        engine = await open_store(f"sqlite:///{config.parent / 'monitor.db'}")
        try:
            return await check(engine)  # type: ignore[operator]
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_users_and_tokens_commands(tmp_path: Path) -> None:
    config = _config(tmp_path)
    added = monitor(config, "users", "add", "ada", "--role", "admin", stdin="s3cret-passw0rd\n")
    assert added.returncode == 0, added.stderr
    assert "s3cret" not in added.stdout + added.stderr
    short = monitor(config, "users", "add", "bob", stdin="short\n")
    assert short.returncode == 2 and "at least 8 characters" in short.stderr
    role = monitor(config, "users", "add", "bob", "--role", "boss", stdin="long enough\n")
    assert role.returncode == 2 and "unknown role 'boss'" in role.stderr
    assert monitor(config, "users", "add", "bob", stdin="bobs-password\n").returncode == 0
    twice = monitor(config, "users", "add", "bob", stdin="bobs-password\n")
    assert twice.returncode == 1 and "exists already" in twice.stderr

    listed = monitor(config, "users", "list", "--json")
    users = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(u["name"], u["role"], u["password"]) for u in users] == [
        ("ada", "admin", True),
        ("bob", "viewer", True),
    ]
    last = monitor(config, "users", "set", "ada", "--role", "viewer")
    assert last.returncode == 1 and "last admin" in last.stderr
    assert monitor(config, "users", "set", "bob", "--role", "editor").returncode == 0
    assert monitor(config, "users", "passwd", "bob", stdin="a-new-password\n").returncode == 0
    hashed = _store_check(config, lambda e: people.password_hash_of(e, "bob"))
    assert asyncio.run(verify_async(hashed[1], "a-new-password"))  # type: ignore[index]
    assert monitor(config, "users", "remove", "bob").returncode == 0
    missing = monitor(config, "users", "remove", "bob")
    assert missing.returncode == 1 and "no user 'bob'" in missing.stderr

    made = monitor(config, "tokens", "create", "siem", "--role", "viewer")
    token = made.stdout.strip()
    assert made.returncode == 0 and token.startswith("mon_") and "shown only now" in made.stderr
    identity = _store_check(config, lambda e: tokens.token_identity(e, token))
    assert identity.role == "viewer"  # type: ignore[attr-defined]
    listed_tokens = monitor(config, "tokens", "list", "--json")
    assert token not in listed_tokens.stdout
    assert json.loads(listed_tokens.stdout)["name"] == "siem"
    assert monitor(config, "tokens", "revoke", "siem").returncode == 0
    assert _store_check(config, lambda e: tokens.token_identity(e, token)) is None

    entries = _store_check(config, lambda e: audit.entries(e, limit=50))
    actions = [e.action for e in reversed(entries.items)]  # type: ignore[attr-defined]
    assert actions == [
        "user.add",
        "user.add",
        "user.role",
        "user.password",
        "user.remove",
        "token.create",
        "token.revoke",
    ]
    assert all(e.actor.startswith("cli") for e in entries.items)  # type: ignore[attr-defined]
    assert "a-new-password" not in json.dumps([e.model_dump(mode="json") for e in entries.items])  # type: ignore[attr-defined]
