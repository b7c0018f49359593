"""The config checks that need the parts a config names: its templates directory, compiled
with the channels' own renderer (an error: every alert would fail), and this machine's
Chromium and Playwright for ``render: browser`` sources (a warning: the daemon may run
elsewhere, but here that source would fail).

The config package is below the channels and the renderer, so it does not check these
itself: the commands load with ``read_config(path, parts=check_parts)`` — ``monitor
check`` and every other command (``cli.common.load``) and the daemon's reload — and the
problems are reported with the config's own, in the file's order.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from monitor.config.problems import Problem


def check_parts(raw: dict[str, Any]) -> Iterator[Problem]:
    """The problems of the parts ``raw`` (the config's tree, as read) names."""
    if isinstance(raw.get("templates"), str):
        yield from _templates(raw["templates"])
    sources = raw.get("sources")
    for index, source in enumerate(sources if isinstance(sources, list) else []):
        if isinstance(source, dict) and source.get("render") == "browser":
            from monitor.render import browser_problem  # nothing of Playwright is imported

            problem = browser_problem()
            if problem:
                yield Problem(("sources", index, "render"), problem, warning=True)


def _templates(directory: str) -> Iterator[Problem]:
    from pathlib import Path

    from monitor.notify.render import Renderer
    from monitor.notify.template_check import check_templates

    path = Path(directory)
    if not path.is_dir():
        yield Problem(("templates",), f"{directory!r} is not a directory")
        return
    for problem in check_templates(Renderer(path)):
        yield Problem(("templates",), problem)
