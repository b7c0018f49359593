"""``monitor users …`` and ``monitor tokens …``: the console's people (SPEC section 5).

A password is prompted for (twice) on a terminal, or read as the first line of stdin
otherwise, so scripts can pipe it in; it never appears in arguments or logs. A token is
printed once, when it is made. Every change is in the audit log, by ``cli:<os user>``.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from monitor.cli.common import EXIT_USAGE, emit_json, fail, load, run_async, table
from monitor.cli.common import actor as _actor

if TYPE_CHECKING:
    from monitor.config.model import Config

T = TypeVar("T")

users_app = typer.Typer(help="Console users: viewer, editor or admin.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens (Authorization: Bearer).", no_args_is_help=True)

RoleOption = Annotated[str, typer.Option("--role", "-r", help="viewer, editor or admin.")]
JsonOption = Annotated[bool, typer.Option("--json", help="One JSON object per line.")]


def _with_store(act: Callable[..., Awaitable[T]], config: Config | None = None) -> T:
    """Run ``act(engine)`` on the config's database; a refused change exits 1 with its line."""
    from monitor.store.people import PeopleError
    from monitor.store.session import open_store

    config = config or load()

    async def run() -> T:
        engine = await open_store(config.database)
        try:
            return await act(engine)
        finally:
            await engine.dispose()

    try:
        return run_async(run())
    except PeopleError as exc:
        fail(str(exc), EXIT_USAGE if exc.code == "invalid" else 1)


def _role(role: str) -> str:
    if role not in ("viewer", "editor", "admin"):
        fail(f"unknown role {role!r}: use viewer, editor or admin", EXIT_USAGE)
    return role


def _read_password() -> str:
    from monitor.console.passwords import check_strength

    if sys.stdin.isatty():
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    problem = check_strength(password)
    if problem:
        fail(problem, EXIT_USAGE)
    return str(password)


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="The user's name.")],
    role: RoleOption = "viewer",
    no_password: Annotated[
        bool, typer.Option("--no-password", help="Signs in through the proxy only (auth: proxy).")
    ] = False,
) -> None:
    """Add a user; the password is prompted for, or read from stdin."""
    from monitor.console.passwords import hash_password
    from monitor.store import people

    _role(role)
    hashed = None if no_password else hash_password(_read_password())
    _with_store(lambda engine: people.add_user(engine, name, role, hashed, actor=_actor()))
    typer.echo(f"user {name} added ({role})")


@users_app.command("list")
def users_list(json_output: JsonOption = False) -> None:
    """The users and their roles."""
    from monitor.store import people

    users = _with_store(people.list_users)
    if json_output:
        emit_json(u.model_dump(mode="json") for u in users)
        return
    table(
        [[u.name, u.role, "yes" if u.password else "no (proxy)"] for u in users],
        ["NAME", "ROLE", "PASSWORD"],
    )


@users_app.command("set")
def users_set(name: Annotated[str, typer.Argument()], role: RoleOption) -> None:
    """Change a user's role."""
    from monitor.store import people

    _role(role)
    before = _with_store(lambda engine: people.set_role(engine, name, role, actor=_actor()))
    typer.echo(f"user {name}: {before} → {role}")


@users_app.command("passwd")
def users_passwd(name: Annotated[str, typer.Argument()]) -> None:
    """Set a user's password (ends their sessions everywhere)."""
    from monitor.console.passwords import hash_password
    from monitor.store import people

    hashed = hash_password(_read_password())
    _with_store(lambda engine: people.set_password(engine, name, hashed, actor=_actor()))
    typer.echo(f"user {name}: password changed; their sessions are ended")


@users_app.command("remove")
def users_remove(name: Annotated[str, typer.Argument()]) -> None:
    """Remove a user (their sessions end at once)."""
    from monitor.store import people

    _with_store(lambda engine: people.remove_user(engine, name, actor=_actor()))
    typer.echo(f"user {name} removed")


@tokens_app.command("create")
def tokens_create(name: Annotated[str, typer.Argument()], role: RoleOption = "viewer") -> None:
    """Make an API token and print it, once."""
    from monitor.store import tokens

    _role(role)
    token = _with_store(lambda engine: tokens.create_token(engine, name, role, actor=_actor()))
    typer.echo(f"token {name} ({role}); it is shown only now:", err=True)
    typer.echo(token)


@tokens_app.command("list")
def tokens_list(json_output: JsonOption = False) -> None:
    """The API tokens (never their values)."""
    from monitor.store import tokens
    from monitor.times import local_time

    config = load()
    found = _with_store(tokens.list_tokens, config)
    if json_output:
        emit_json(t.model_dump(mode="json") for t in found)
        return
    table(
        [
            [
                t.name,
                t.role,
                t.created_by or "-",
                local_time(t.last_used_at, config.zone, empty="never"),
            ]
            for t in found
        ],
        ["NAME", "ROLE", "CREATED BY", "LAST USED"],
    )


@tokens_app.command("revoke")
def tokens_revoke(name: Annotated[str, typer.Argument()]) -> None:
    """Revoke an API token: it stops working at once on every instance."""
    from monitor.store import tokens

    _with_store(lambda engine: tokens.revoke_token(engine, name, actor=_actor()))
    typer.echo(f"token {name} revoked")
