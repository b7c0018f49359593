"""Render alerts as email subject, plain text and HTML with Jinja2 templates.

Templates ship in ``monitor/notify/templates``; an operator's directory, when given
(config ``templates:``), overrides any of them by file name: ``email_subject.txt``,
``email.txt``, ``email.html`` (one alert), ``digest_subject.txt``, ``digest.txt``,
``digest.html`` (a digest or rate-limit summary; ``groups`` holds its alerts by rule) and
the chat templates ``chat.txt`` / ``chat_digest.txt`` (rendered by ``notify.slack``).
``check_templates`` renders them all with sample alerts, so a broken one is a ``check``
error rather than a failed delivery. HTML templates autoescape; undefined variables are
errors (``StrictUndefined``). Release text is only ever data in the template context,
never template source, so ``{{`` in a title is printed, not evaluated.

The pure helpers here carry the safety rules: ``flatten`` (from ``notify.base``) makes
text safe for a header (no line breaks or control characters), ``highlight`` escapes a
snippet and then wraps the matched terms in ``<mark>`` by offsets (markup never comes
from release text), and ``text_direction`` lays out right-to-left languages right-to-left.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup, escape

from monitor.model import Hit
from monitor.notify.base import flatten as flatten  # re-exported: render's helpers' users
from monitor.notify.base import truncate as truncate
from monitor.notify.payload import AlertView, iso_datetime

SHIPPED_TEMPLATES = Path(__file__).resolve().parent / "templates"
ALERT_TEMPLATES = ("email_subject.txt", "email.txt", "email.html")
DIGEST_TEMPLATES = ("digest_subject.txt", "digest.txt", "digest.html")
CHAT_TEMPLATES = ("chat.txt", "chat_digest.txt")  # Slack/Mattermost mrkdwn (notify.slack)
SUBJECT_LIMIT = 300  # characters; a ministry title can be a paragraph

# Primary language subtags written right to left.
RTL_LANGUAGES = frozenset({"ar", "fa", "he", "iw", "ur", "ps", "yi", "ckb", "dv", "sd", "ug"})


def text_direction(language: str | None) -> str:
    """``rtl`` for a right-to-left language, else ``auto`` (the reader's bidi algorithm)."""
    primary = re.split(r"[-_]", (language or "").strip().lower(), maxsplit=1)[0]
    return "rtl" if primary in RTL_LANGUAGES else "auto"


def term_spans(text: str, terms: Iterable[str]) -> list[tuple[int, int]]:
    """Non-overlapping (start, end) spans of the terms in ``text``; longer terms win ties.

    Case-insensitive, and a run of spaces in a term matches any whitespace (snippets
    have their whitespace collapsed).
    """
    found: list[tuple[int, int]] = []
    for term in sorted({t.strip() for t in terms if t.strip()}, key=len, reverse=True):
        pattern = r"\s+".join(re.escape(word) for word in term.split())
        found.extend(m.span() for m in re.finditer(pattern, text, re.IGNORECASE))
    spans: list[tuple[int, int]] = []
    for start, end in sorted(found, key=lambda s: (s[0], -s[1])):
        if end > start and (not spans or start >= spans[-1][1]):
            spans.append((start, end))
    return spans


def highlight(text: str, terms: Iterable[str]) -> Markup:
    """HTML of ``text``, escaped, with each term occurrence wrapped in ``<mark>``."""
    out: list[Markup] = []
    pos = 0
    for start, end in term_spans(text, terms):
        out.append(escape(text[pos:start]))
        out.append(Markup("<mark>%s</mark>") % text[start:end])
        pos = end
    out.append(escape(text[pos:]))
    return Markup("").join(out)


def mark_text(text: str, terms: Iterable[str], left: str = "«", right: str = "»") -> str:
    """Plain-text highlighting for the text/plain part."""
    out: list[str] = []
    pos = 0
    for start, end in term_spans(text, terms):
        out.append(f"{text[pos:start]}{left}{text[start:end]}{right}")
        pos = end
    out.append(text[pos:])
    return "".join(out)


def safe_href(url: str) -> str | None:
    """The URL if it is http(s) and so safe to link; other schemes are shown, not linked."""
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None
    return url.strip() if scheme in ("http", "https") else None


def _match_context(hit: Hit, terms: Sequence[str]) -> dict[str, Any]:
    snippet = flatten(hit.snippet)
    return {
        "field": hit.field,
        "term": flatten(hit.term),
        "snippet": snippet,
        "snippet_marked": mark_text(snippet, terms),
        "snippet_html": highlight(snippet, terms),
    }


def alert_context(alert: AlertView) -> dict[str, Any]:
    """Everything a template may use about one alert; release text stays data."""
    terms = [hit.term for hit in alert.matches]
    return {
        "alert": alert,
        "title": flatten(alert.title),
        "dir": text_direction(alert.language),
        "published": iso_datetime(alert.published_at),
        "href": safe_href(alert.url),
        "terms": sorted({flatten(t) for t in terms}),
        "matches": [_match_context(hit, terms) for hit in alert.matches],
        "copies": [{"source": s, "url": u, "href": safe_href(u)} for s, u in alert.copies],
    }


def single_context(alert: AlertView) -> dict[str, Any]:
    """The context of the one-alert templates: the alert's fields, and ``item`` for macros."""
    context = alert_context(alert)
    return {**context, "item": context}


def digest_context(alerts: Sequence[AlertView]) -> dict[str, Any]:
    """The context of the digest templates: ``items`` in order and the same grouped by rule
    (``groups``: rule_id, rule_name, count, items; rules in order of first appearance)."""
    items = [alert_context(a) for a in alerts]
    groups: dict[str, dict[str, Any]] = {}
    for alert, item in zip(alerts, items, strict=True):
        group = groups.setdefault(
            alert.rule_id,
            {"rule_id": alert.rule_id, "rule_name": flatten(alert.rule_name), "items": []},
        )
        group["items"].append(item)
    for group in groups.values():
        group["count"] = len(group["items"])
    return {
        "count": len(alerts),
        "rule_names": [g["rule_name"] for g in groups.values()],
        "items": items,
        "groups": list(groups.values()),
    }


def sample_alerts() -> tuple[AlertView, AlertView]:
    """Two representative alerts (Arabic and English) used to check templates render."""
    arabic = AlertView(
        alert_id="check-1",
        rule_id="nato",
        rule_name="NATO",
        release_id="r1",
        source_id="mofa-qa-ar",
        source_name="وزارة الخارجية",
        title='وزير الخارجية يجتمع مع الأمين العام لحلف "الناتو"',
        url="https://example.org/ar/1",
        published_at=datetime(2019, 3, 13, 7, 0, tzinfo=UTC),
        language="ar",
        summary="اجتماع في بروكسل",
        matches=(Hit("title", "الناتو", 44, 50, 'لحلف "الناتو"'),),
        copies=(("qna-ar", "https://example.org/qna/1"),),
    )
    english = AlertView(
        alert_id="check-2",
        rule_id="cyber",
        rule_name="Cyber",
        release_id="r2",
        source_id="mofa-qa-en",
        source_name="MOFA",
        title="<script>alert(1)</script> Cyber security talks",
        url="https://example.org/en/2",
        published_at=None,
        language=None,
        summary="",
        matches=(Hit("title", "Cyber", 26, 31, "Cyber security talks"),),
    )
    return arabic, english


class Renderer:
    """Renders alerts; ``templates_dir`` (optional) overrides shipped templates by name."""

    def __init__(self, templates_dir: Path | None = None) -> None:
        loaders: list[jinja2.BaseLoader] = []
        if templates_dir is not None:
            loaders.append(jinja2.FileSystemLoader(str(templates_dir)))
        loaders.append(jinja2.FileSystemLoader(str(SHIPPED_TEMPLATES)))
        self.templates_dir = templates_dir
        self.env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            autoescape=jinja2.select_autoescape(["html"], default_for_string=False),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )

    def _render(self, name: str, context: dict[str, Any]) -> str:
        return self.env.get_template(name).render(context)

    def _subject(self, name: str, context: dict[str, Any]) -> str:
        return truncate(flatten(self._render(name, context)), SUBJECT_LIMIT)

    def render_email(self, alert: AlertView) -> tuple[str, str, str]:
        """(subject, text, html) for one alert. The subject is already one flat line."""
        context = single_context(alert)
        subject, text, html = ALERT_TEMPLATES
        return (
            self._subject(subject, context),
            self._render(text, context),
            self._render(html, context),
        )

    def render_digest_email(self, alerts: Sequence[AlertView]) -> tuple[str, str, str]:
        """(subject, text, html) for a digest of several alerts, grouped by rule."""
        context = digest_context(alerts)
        subject, text, html = DIGEST_TEMPLATES
        return (
            self._subject(subject, context),
            self._render(text, context),
            self._render(html, context),
        )

    def check_templates(self) -> list[str]:
        """Problems with the templates, one line each (for ``monitor check``)."""
        problems: list[str] = []
        if self.templates_dir is not None and not self.templates_dir.is_dir():
            return [f"{self.templates_dir}: templates directory not found"]
        from monitor.notify.slack import ChatRenderer

        arabic, english = sample_alerts()
        single = single_context(arabic)
        digest = digest_context([arabic, english])
        chat = ChatRenderer(self)
        checks = [(self._render, n, single) for n in ALERT_TEMPLATES]
        checks += [(self._render, n, digest) for n in DIGEST_TEMPLATES]
        checks += [(chat.render, n, single) for n in CHAT_TEMPLATES[:1]]
        checks += [(chat.render, n, digest) for n in CHAT_TEMPLATES[1:]]
        for render, name, context in checks:
            problem = self._check_one(render, name, context)
            if problem:
                problems.append(problem)
        return problems

    def _check_one(
        self, render: Callable[[str, dict[str, Any]], str], name: str, context: dict[str, Any]
    ) -> str | None:
        try:
            render(name, context)
        except jinja2.TemplateSyntaxError as exc:
            where = exc.filename or name
            return f"{where}: line {exc.lineno}: {flatten(exc.message or 'syntax error')}"
        except jinja2.TemplateNotFound as exc:
            return f"{name}: template not found ({flatten(str(exc))})"
        except jinja2.TemplateError as exc:
            return f"{self._filename(name)}: {flatten(str(exc))}"
        return None

    def _filename(self, name: str) -> str:
        try:
            return self.env.get_template(name).filename or name
        except jinja2.TemplateError:
            return name
