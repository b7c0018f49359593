"""``monitor demo``: bundled sample ministries served on loopback, polled with the shipped
rules, and the alerts that would be sent printed. ``runner.demo_command`` is the entry."""
