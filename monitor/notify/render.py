"""Render messages as email subject, plain text and HTML with Jinja2 templates.

Templates ship in ``monitor/notify/templates``; an operator's directory, when given
(config ``templates:``), overrides any of them by file name:

- ``email_subject.txt``, ``email.txt``, ``email.html``: one story — every rule that matched
  it (``rules``: name, ``matches``, ``more``), the release (``title``, ``source_name``,
  ``published``, ``summary``, ``url``/``href``, ``copies``) — see ``context.story_context``;
- ``digest_subject.txt``, ``digest.txt``, ``digest.html``: a digest or rate-limit summary
  (``count`` alerts, ``rule_names``, ``stories``: one story context each);
- ``alarm_subject.txt``, ``alarm.txt``, ``alarm.html``: a source alarm's notice
  (``notice.kind``, ``notice.state``, ``title``, ``message``, ``source_id``, ``at``);
- ``chat.txt``, ``chat_digest.txt``, ``chat_alarm.txt``: the chat forms (``notify.slack``).

``check_templates`` renders them all with sample alerts, so a broken one is a ``check``
error rather than a failed delivery. HTML templates autoescape; undefined variables are
errors (``StrictUndefined``). Release text is only ever data in the template context,
never template source, so ``{{`` in a title is printed, not evaluated. Times are shown in
the renderer's zone (the config's ``timezone``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

from monitor.model import Hit
from monitor.notify.base import flatten as flatten  # re-exported: render's helpers' users
from monitor.notify.base import truncate
from monitor.notify.context import UTC_ZONE, alarm_context, digest_context, story_context
from monitor.notify.payload import AlarmNotice, AlertView

SHIPPED_TEMPLATES = Path(__file__).resolve().parent / "templates"
ALERT_TEMPLATES = ("email_subject.txt", "email.txt", "email.html")
DIGEST_TEMPLATES = ("digest_subject.txt", "digest.txt", "digest.html")
ALARM_TEMPLATES = ("alarm_subject.txt", "alarm.txt", "alarm.html")
CHAT_TEMPLATES = ("chat.txt", "chat_digest.txt", "chat_alarm.txt")  # mrkdwn (notify.slack)
SUBJECT_LIMIT = 300  # characters; a ministry title can be a paragraph


def sample_alerts() -> tuple[AlertView, AlertView, AlertView]:
    """Representative alerts (Arabic, English, an alarm notice) to check templates render."""
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
        story_id="1",
        match_total=5,
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
        story_id="2",
    )
    alarm = AlertView(
        alert_id="alarm-1",
        rule_id="alarm:failing",
        rule_name="Source alarm",
        release_id="",
        source_id="mofa-qa-ar",
        source_name="وزارة الخارجية",
        title="وزارة الخارجية: failing for 1h 5m: HTTP 503",
        url="https://example.org/ar/rss",
        published_at=datetime(2019, 3, 13, 7, 0, tzinfo=UTC),
        language=None,
        summary="وزارة الخارجية: failing for 1h 5m: HTTP 503",
        matches=(),
        alarm=AlarmNotice("failing", "raised"),
    )
    return arabic, english, alarm


class Renderer:
    """Renders messages; ``templates_dir`` (optional) overrides shipped templates by name;
    times are shown in ``zone``."""

    def __init__(self, templates_dir: Path | None = None, zone: ZoneInfo = UTC_ZONE) -> None:
        loaders: list[jinja2.BaseLoader] = []
        if templates_dir is not None:
            loaders.append(jinja2.FileSystemLoader(str(templates_dir)))
        loaders.append(jinja2.FileSystemLoader(str(SHIPPED_TEMPLATES)))
        self.templates_dir = templates_dir
        self.zone = zone
        self.env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            autoescape=jinja2.select_autoescape(["html"], default_for_string=False),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )

    def context(self, alerts: Sequence[AlertView]) -> tuple[tuple[str, ...], dict[str, Any]]:
        """The templates and context of one message: an alarm notice, or a story."""
        notice = alerts[0].alarm if len(alerts) == 1 else None
        if notice is not None:
            return ALARM_TEMPLATES, alarm_context(alerts[0], notice, self.zone)
        return ALERT_TEMPLATES, story_context(alerts, self.zone)

    def render(self, name: str, context: dict[str, Any]) -> str:
        """One template by name (an operator's first, then the shipped one)."""
        return self.env.get_template(name).render(context)

    def _three(self, names: tuple[str, ...], context: dict[str, Any]) -> tuple[str, str, str]:
        subject, text, html = names
        return (
            truncate(flatten(self.render(subject, context)), SUBJECT_LIMIT),
            self.render(text, context),
            self.render(html, context),
        )

    def render_email(self, alerts: Sequence[AlertView]) -> tuple[str, str, str]:
        """(subject, text, html) for one message: the alerts of one story, or one alarm
        notice. The subject is already one flat line."""
        names, context = self.context(alerts)
        return self._three(names, context)

    def render_digest_email(self, alerts: Sequence[AlertView]) -> tuple[str, str, str]:
        """(subject, text, html) for a digest of several alerts, one entry per story."""
        return self._three(DIGEST_TEMPLATES, digest_context(alerts, self.zone))
