"""``monitor check`` for templates: every shipped or operator template renders samples.

Each template (email, digest, alarm, and the chat forms of ``notify.slack``) renders the
sample alerts of ``notify.render``; a problem is one line naming the file and the line.
It sits above both ``render`` and ``slack``, so neither has to know the other to be checked.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jinja2

from monitor.notify.base import flatten
from monitor.notify.context import alarm_context, digest_context, story_context
from monitor.notify.payload import AlarmNotice
from monitor.notify.render import (
    ALARM_TEMPLATES,
    ALERT_TEMPLATES,
    CHAT_TEMPLATES,
    DIGEST_TEMPLATES,
    Renderer,
    sample_alerts,
)
from monitor.notify.slack import ChatRenderer


def check_templates(renderer: Renderer) -> list[str]:
    """Problems with the templates, one line each (for ``monitor check``)."""
    problems: list[str] = []
    if renderer.templates_dir is not None and not renderer.templates_dir.is_dir():
        return [f"{renderer.templates_dir}: templates directory not found"]
    arabic, english, alarm = sample_alerts()
    cyber = dataclasses.replace(english, story_id="1", alert_id="check-3")  # arabic's story
    story = story_context([arabic, cyber], renderer.zone)
    digest = digest_context([arabic, english, cyber], renderer.zone)
    notice = alarm_context(alarm, AlarmNotice("failing", "raised"), renderer.zone)
    chat = ChatRenderer(renderer)
    checks = [(renderer.render, n, story) for n in ALERT_TEMPLATES]
    checks += [(renderer.render, n, digest) for n in DIGEST_TEMPLATES]
    checks += [(renderer.render, n, notice) for n in ALARM_TEMPLATES]
    checks += [(chat.render, CHAT_TEMPLATES[0], story)]
    checks += [(chat.render, CHAT_TEMPLATES[1], digest)]
    checks += [(chat.render, CHAT_TEMPLATES[2], notice)]
    for render, name, context in checks:
        problem = _check_one(renderer, render, name, context)
        if problem:
            problems.append(problem)
    return problems


def _check_one(
    renderer: Renderer,
    render: Callable[[str, dict[str, Any]], str],
    name: str,
    context: dict[str, Any],
) -> str | None:
    try:
        render(name, context)
    except jinja2.TemplateSyntaxError as exc:
        where = exc.filename or name
        return f"{where}: line {exc.lineno}: {flatten(exc.message or 'syntax error')}"
    except jinja2.TemplateNotFound as exc:
        return f"{name}: template not found ({flatten(str(exc))})"
    except jinja2.TemplateError as exc:
        return f"{_filename(renderer, name)}: {flatten(str(exc))}"
    return None


def _filename(renderer: Renderer, name: str) -> str:
    try:
        return renderer.env.get_template(name).filename or name
    except jinja2.TemplateError:
        return name
