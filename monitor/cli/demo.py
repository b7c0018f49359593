"""``monitor demo``: see ``monitor.demo.runner``."""

from monitor.demo.runner import demo_command

__all__ = ["demo_command"]
