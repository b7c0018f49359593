"""redact_url / redact_text: credentials in URLs never shown, everything else kept."""

from __future__ import annotations

import pytest

from monitor.redact import redact_text, redact_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://user:secret@host/feed.xml", "http://***@host/feed.xml"),
        ("https://user@host:8443/feed?x=1#y", "https://***@host:8443/feed?x=1#y"),
        ("http://user:p@ss@host/feed", "http://***@host/feed"),  # '@' in the password
        ("http://:secret@host/", "http://***@host/"),
        ("HTTPS://U:S@Host/", "HTTPS://***@Host/"),
        ("https://host/feed?mail=a@b.org", "https://host/feed?mail=a@b.org"),  # not userinfo
        ("https://host/path/a@b", "https://host/path/a@b"),
        ("https://www.mofa.gov.qa/ar/rss", "https://www.mofa.gov.qa/ar/rss"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_redact_text_hides_every_url_in_a_message() -> None:
    text = "moved from http://a:b@x/1 to https://c:d@y/2; write to ops@example.org"
    assert redact_text(text) == (
        "moved from http://***@x/1 to https://***@y/2; write to ops@example.org"
    )


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_log_lines_never_carry_credentials(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    from monitor.logs import setup_logging

    root = logging.getLogger("monitor")
    kept = (root.handlers[:], root.level, root.propagate)
    setup_logging(fmt)
    try:
        log = logging.getLogger("monitor.test")
        url = "http://watch:s3cr3t@feeds.example/ar/1"
        try:
            raise ValueError(f"cannot use {url}")
        except ValueError:
            log.exception("full text not fetched from %s", url, extra={"url": url, "source": "m"})
    finally:
        root.handlers[:], root.level, root.propagate = kept[0], kept[1], kept[2]
    err = capsys.readouterr().err
    assert "s3cr3t" not in err
    assert err.count("http://***@feeds.example/ar/1") == 3  # message, url key, traceback


def test_a_skipped_tick_is_not_logged_and_scheduler_errors_keep_the_format(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import logging

    from monitor.logs import setup_logging

    loggers = [logging.getLogger("monitor"), logging.getLogger("apscheduler")]
    kept = [(lg.handlers[:], lg.level, lg.propagate) for lg in loggers]
    setup_logging("text")
    try:
        scheduler = logging.getLogger("apscheduler.scheduler")
        scheduler.warning(
            'Execution of job "Daemon.poll_tick" skipped: maximum number of running '
            "instances reached (1)"
        )
        scheduler.error("job store unreachable")
    finally:
        for lg, (handlers, level, propagate) in zip(loggers, kept, strict=True):
            lg.handlers[:], lg.level, lg.propagate = handlers, level, propagate
    err = capsys.readouterr().err
    assert "maximum number of running instances" not in err
    assert err.count("job store unreachable") == 1 and " error " in err
