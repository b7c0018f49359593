"""The chat format of webhook channels (``format: slack``): Slack/Mattermost messages.

The body is ``{"text": ..., "blocks": [...]}``: Slack shows the blocks (``text`` is the
notification fallback); Mattermost, which ignores blocks, shows ``text`` — so ``text``
carries the whole message. Both are rendered from the ``chat.txt`` (one story: every rule
that matched it), ``chat_digest.txt`` (a digest's heading; then one ``chat.txt`` block per
story) and ``chat_alarm.txt`` (a source alarm's notice) templates, which an operator's
``templates`` directory may override. Times are in the config's zone.

Release text is untrusted: every value a chat template prints is mrkdwn-escaped on output
(``&``, ``<``, ``>``, so no ``<!everyone>``, ``<!channel>`` or forged link), and an ``@``
that starts a word gets a zero-width space after it, so ``@channel``, ``@here`` or
``@someone`` in a title notifies nobody; each value is flattened to one line. Only
``link(href, label)`` builds markup.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import jinja2

from monitor.notify.base import flatten, truncate
from monitor.notify.context import digest_context
from monitor.notify.payload import AlertView
from monitor.notify.render import ALARM_TEMPLATES, CHAT_TEMPLATES, Renderer

SECTION_LIMIT = 3000  # characters in one Slack section's text
TEXT_LIMIT = 12000  # the whole fallback text (Mattermost allows 16383)
MAX_BLOCKS = 50  # Slack's limit per message
_MENTION = re.compile(r"(?<![\w@])@(?=\w)")


class Mrkdwn(str):
    """Text that is already mrkdwn (built by the templates' own helpers): printed as is."""


def escape_mrkdwn(text: str) -> str:
    """Release text made inert in Slack/Mattermost mrkdwn."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MENTION.sub("@\u200b", text)


def _finalize(value: Any) -> Any:
    # one line too: release text never starts a quote, a list or a fake line of its own
    if isinstance(value, Mrkdwn) or not isinstance(value, str):
        return value
    return escape_mrkdwn(flatten(value))


def link(href: str, label: str) -> Mrkdwn:
    """``<href|label>`` with both parts escaped (``|`` cannot end the URL early)."""
    url = escape_mrkdwn(href.replace("|", "%7C")).replace("@\u200b", "@")
    return Mrkdwn(f"<{url}|{escape_mrkdwn(flatten(label)) or url}>")


class ChatRenderer:
    """Renders chat templates with the renderer's templates (operator overrides first)."""

    def __init__(self, renderer: Renderer) -> None:
        self.env = jinja2.Environment(
            loader=renderer.env.loader,
            autoescape=False,  # noqa: S701 - not HTML: finalize escapes for mrkdwn
            finalize=_finalize,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals["link"] = link
        self.renderer = renderer

    def render(self, name: str, context: dict[str, Any]) -> str:
        return self.env.get_template(name).render(context).strip()


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, SECTION_LIMIT)}}


def chat_payload(chat: ChatRenderer, alerts: Sequence[AlertView]) -> dict[str, Any]:
    """The message for one story (its alerts, one per rule) or one alarm notice."""
    names, context = chat.renderer.context(alerts)
    story, _, alarm = CHAT_TEMPLATES
    text = chat.render(alarm if names == ALARM_TEMPLATES else story, context)
    return {"text": truncate(text, TEXT_LIMIT), "blocks": [_section(text)]}


def chat_digest_payload(chat: ChatRenderer, alerts: Sequence[AlertView]) -> dict[str, Any]:
    """The message for a digest: its heading, then one block per story."""
    context = digest_context(alerts, chat.renderer.zone)
    heading = chat.render(CHAT_TEMPLATES[1], context)
    blocks: list[dict[str, Any]] = [_section(heading)]
    texts = [heading]
    shown = 0
    for story in context["stories"]:
        if len(blocks) + 2 > MAX_BLOCKS:
            break
        body = chat.render(CHAT_TEMPLATES[0], story)
        blocks += [{"type": "divider"}, _section(body)]
        texts.append(body)
        shown += 1
    if shown < len(context["stories"]):
        more = f"…and {len(context['stories']) - shown} more"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": more}]})
        texts.append(more)
    return {"text": truncate("\n\n".join(texts), TEXT_LIMIT), "blocks": blocks}
