"""``monitor run``: the daemon (``app``), its polls (``polling``) and its shutdown
(``stopping``)."""

from monitor.daemon.app import Daemon

__all__ = ["Daemon"]
