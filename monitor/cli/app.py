"""Typer wiring of the commands. Each command imports its implementation when it runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from monitor.cli.common import EXIT_OK, State, config_path, end_start_up, load
from monitor.cli.people_cmd import tokens_app, users_app

app = typer.Typer(
    name="monitor",
    help="Watch government and ministry news; alert when watch rules match.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
rules_app = typer.Typer(help="Try watch rules without sending anything.", no_args_is_help=True)
alerts_app = typer.Typer(help="The alert delivery log.", invoke_without_command=True)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
sources_app = typer.Typer(
    help="Health of each source (discover a new one; export, import: OPML).",
    invoke_without_command=True,
)
app.add_typer(rules_app, name="rules")
app.add_typer(alerts_app, name="alerts")
app.add_typer(db_app, name="db")
app.add_typer(sources_app, name="sources")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")

LOG_FORMATS = ("text", "json")
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="Config file [default: $MONITOR_CONFIG or config/monitor.yaml]"
    ),
]


def _log_format(value: str) -> str:
    if value not in LOG_FORMATS:
        raise typer.BadParameter(f"{value!r} is not a log format: use text or json")
    return value


@app.callback()
def _options(
    config: ConfigOption = None,
    log_format: Annotated[
        str, typer.Option(help="Log format on stderr: text or json.", callback=_log_format)
    ] = "text",
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
) -> None:
    State.config_path = config_path(config)
    State.log_format = log_format
    State.verbose = verbose


@app.command()
def check() -> None:
    """Validate the configuration; print one line per problem (exit 2 if any)."""
    config = load(warn=True)
    typer.echo(
        f"{State.config_path}: ok ({len(config.sources)} sources, {len(config.rules)} rules, "
        f"{len(config.channels)} channels)"
    )


@app.command()
def run() -> None:
    """Run the daemon in the foreground until SIGTERM or SIGINT."""
    from monitor.cli.daemon import run_command

    run_command(load(warn=True, apart=True))


@app.command()
def poll(
    source: Annotated[
        list[str] | None, typer.Option("--source", "-s", help="Only this source (repeatable).")
    ] = None,
    no_alerts: Annotated[
        bool, typer.Option("--no-alerts", help="Store and match, queue no alerts.")
    ] = False,
    backfill: Annotated[
        str | None, typer.Option(help="Widen the first-poll backfill once, e.g. 30d.")
    ] = None,
    no_flood_guard: Annotated[
        bool,
        typer.Option(
            "--no-flood-guard",
            help="Alert every release once, however many (max_alerts_per_poll lifted).",
        ),
    ] = False,
) -> None:
    """Poll every (or each named) source once, match, deliver what is due, exit."""
    from monitor.cli.daemon import poll_command

    poll_command(
        load(),
        sources=source or [],
        no_alerts=no_alerts,
        backfill=backfill,
        no_flood_guard=no_flood_guard,
    )


@rules_app.command("test")
def rules_test(
    targets: Annotated[
        list[str] | None, typer.Argument(help="Files (.txt, .html, feed, JSON) or URLs.")
    ] = None,
    rule: Annotated[
        list[str] | None, typer.Option("--rule", "-r", help="Only this rule (repeatable).")
    ] = None,
    since: Annotated[str, typer.Option(help="Archive window when no files are given.")] = "30d",
    json_output: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Dry-run the rules on documents or on the stored archive; sends nothing."""
    from monitor.cli.rules_cmd import rules_test_command

    rules_test_command(load(), targets or [], rules=rule or [], since=since, as_json=json_output)


@rules_app.command("export")
def rules_export() -> None:
    """The console's rules (kept in the database) as config YAML for the file."""
    from monitor.cli.export_cmd import export_items

    export_items(load(), "rule")


@sources_app.callback()
def sources(
    ctx: typer.Context,
    json_output: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Health of each source: last poll, last success, error, next poll."""
    if ctx.invoked_subcommand is not None:
        return
    from monitor.cli.reports import sources_command

    sources_command(load(), as_json=json_output)


@sources_app.command("export")
def sources_export(
    opml: Annotated[bool, typer.Option("--opml", help="As OPML 2.0 (feed readers).")] = False,
) -> None:
    """The console's sources as config YAML; --opml: every source as an OPML list."""
    if not opml:
        from monitor.cli.export_cmd import export_items

        export_items(load(), "source")
        return
    from monitor.cli.opml_cmd import export_command

    export_command(load(), opml=opml)


@sources_app.command("import")
def sources_import(
    path: Annotated[Path, typer.Argument(help="An OPML file (a feed reader's export).")],
    as_yaml: Annotated[
        bool, typer.Option("--yaml", help="Print config YAML for its feeds.")
    ] = False,
) -> None:
    """Read an OPML subscription list: --yaml prints its feeds as config sources."""
    from monitor.cli.opml_cmd import import_command

    import_command(load(), path, as_yaml=as_yaml)


@sources_app.command("discover")
def sources_discover(
    url: Annotated[str, typer.Argument(help="A ministry's site or news page.")],
    json_output: Annotated[bool, typer.Option("--json", help="As one JSON object.")] = False,
) -> None:
    """The feeds a site advertises (or has at the usual paths), with titles and item counts;
    for a page without one, suggested select: selectors and the items they pick."""
    from monitor.cli.discover_cmd import discover_command

    discover_command(load(), url, as_json=json_output)


@app.command()
def releases(
    since: Annotated[
        str | None, typer.Option(help="Only releases first seen within, e.g. 7d.")
    ] = None,
    query: Annotated[str | None, typer.Option(help="A rule-language query.")] = None,
    source: Annotated[str | None, typer.Option(help="Only this source.")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most N releases.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Browse and search the archive."""
    from monitor.cli.reports import releases_command

    releases_command(
        load(), since=since, query=query, source=source, limit=limit, as_json=json_output
    )


@alerts_app.callback()
def alerts(
    ctx: typer.Context,
    status: Annotated[
        str | None, typer.Option(help="pending, sent, failed, dead or muted.")
    ] = None,
    rule: Annotated[str | None, typer.Option(help="Only this rule's alerts.")] = None,
    channel: Annotated[str | None, typer.Option(help="Only this channel's alerts.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Only alerts created within, e.g. 24h or 7d.")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most N alerts.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """The delivery log, newest first (alerts show ID, alerts retry ID)."""
    if ctx.invoked_subcommand is not None:
        return
    from monitor.cli.alerts_cmd import alerts_command

    alerts_command(
        load(),
        status=status,
        rule=rule,
        channel=channel,
        since=since,
        limit=limit,
        as_json=json_output,
    )


AlertId = Annotated[
    str, typer.Argument(help="The alert's id, or a unique prefix of 6 characters or more.")
]


@alerts_app.command("show")
def alerts_show(
    alert_id: AlertId,
    json_output: Annotated[bool, typer.Option("--json", help="As one JSON object.")] = False,
) -> None:
    """Everything about one alert: release, rule, channel, attempts, times, matches."""
    from monitor.cli.alerts_cmd import show_command

    show_command(load(), alert_id, as_json=json_output)


@alerts_app.command("retry")
def alerts_retry(alert_id: AlertId) -> None:
    """Make a failed or dead alert due now."""
    from monitor.cli.alerts_cmd import retry_command

    retry_command(load(), alert_id)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending database migrations."""
    from monitor.cli.reports import upgrade_command

    upgrade_command(load())
    raise typer.Exit(EXIT_OK)


@app.command()
def demo() -> None:
    """Offline demonstration: sample ministry feeds on loopback, polled with the default rules."""
    from monitor.cli.demo import demo_command

    end_start_up()
    demo_command()
