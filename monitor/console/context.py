"""What the console needs from its host: the store, the current config and channels.

The daemon passes getters, so a SIGHUP reload is seen by the next request; tests build a
context from an engine and a config. ``wake_delivery`` (the daemon's delivery tick) sends a
retried alert at once rather than at the next tick.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.config.model import Config, Console

if TYPE_CHECKING:
    from monitor.notify.base import Channel


@dataclass(frozen=True)
class ConsoleContext:
    engine: AsyncEngine
    current_config: Callable[[], Config]
    current_channels: Callable[[], Mapping[str, Channel]]
    wake_delivery: Callable[[], Awaitable[None]] | None = None
    # the config file's alone (the daemon's ``Runtime.file_config``); None: ``config`` is
    current_file_config: Callable[[], Config] | None = None
    # the config generation in force on this instance (its daemon's), None: not known
    applied_generation: Callable[[], int | None] | None = None

    @property
    def config(self) -> Config:
        return self.current_config()

    @property
    def file(self) -> Config:
        """The file's config, which the console's rules and sources are merged with."""
        return (self.current_file_config or self.current_config)()

    @property
    def settings(self) -> Console:
        return self.config.console or Console()
