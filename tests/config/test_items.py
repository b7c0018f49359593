"""Console items checked as the file's are, and merged with the file: the file wins a
clash of ids, a stored item that no longer passes is left out and said so."""

from __future__ import annotations

from monitor.config.items import ItemProblem, check_rule, check_source, merge
from monitor.config.model import Config

FILE = Config.model_validate(
    {
        "sources": [{"id": "mofa", "url": "https://example.org/rss"}],
        "rules": [{"id": "nato", "query": "NATO", "channels": ["console"]}],
        "channels": [{"id": "console", "type": "log"}, {"id": "ops-email", "type": "log"}],
    }
)


def test_a_query_error_names_its_column_and_the_lower_case_hint() -> None:
    problems = check_rule({"id": "x", "query": "الناتو or (قطر", "channels": ["console"]}, FILE)
    assert [p.field for p in problems] == ["query"]
    assert problems[0].column is not None and problems[0].column > 1
    assert "OR" in problems[0].message  # the lower-case operator hint


def test_references_and_keys_are_checked_with_suggestions() -> None:
    problems = check_rule(
        {"id": "x", "query": "NATO", "channels": ["ops-mail"], "sources": ["mofa", "nope"]},
        FILE,
    )
    assert problems == [
        ItemProblem("channels.0", "unknown channel 'ops-mail'; did you mean 'ops-email'?"),
        ItemProblem("sources.1", "unknown source 'nope'"),
    ]
    assert check_rule({"id": "Bad Id", "query": "NATO", "chanels": ["console"]}, FILE) == [
        ItemProblem("id", "'Bad Id' is not a valid id: use lower-case letters, digits and '-'"),
        ItemProblem("channels", "missing required key"),
        ItemProblem("chanels", "unknown key; did you mean 'channels'?"),
    ]


def test_a_source_is_checked_for_its_selectors_and_schedule() -> None:
    assert check_source({"id": "a", "url": "https://example.org/"}, FILE) == []
    problems = check_source(
        {
            "id": "b",
            "url": "https://example.org/news",
            "type": "html",
            "cron": "61 * * * *",
            "select": {"item": "div[", "title": "h3", "link": "a@href"},
        },
        FILE,
    )
    assert {p.field for p in problems} == {"cron", "select.item"}
    assert check_source({"id": "c", "url": "ftp://x"}, FILE)[0].field == "url"


def test_merge_adds_console_items_and_the_file_wins_a_clash() -> None:
    effective = merge(
        FILE,
        [
            ("rule", {"id": "gulf", "query": "قطر", "channels": ["console"], "sources": ["new"]}),
            ("rule", {"id": "nato", "query": "OTAN", "channels": ["console"]}),
            ("source", {"id": "new", "url": "https://example.org/new.rss"}),
            ("rule", {"id": "broken", "query": "NATO", "channels": ["gone"]}),
        ],
    )
    assert [r.id for r in effective.config.rules] == ["nato", "gulf"]
    assert effective.config.rule("nato").query == "NATO"  # the file's
    assert [s.id for s in effective.config.sources] == ["mofa", "new"]
    assert effective.origin("rule", "nato") == "file"
    assert effective.origin("rule", "gulf") == "console"
    assert effective.origin("source", "new") == "console"
    assert effective.origin("rule", "broken") is None
    assert effective.shadowed["rule"] == {"nato"}
    assert effective.notices() == [
        "console rule 'nato' is not in force: the config file has one with that id (the file wins)",
        "console rule 'broken' is not in force: channels.0: unknown channel 'gone'",
    ]
    assert effective.file is FILE
