"""monitor: watches government and ministry news and alerts operators on matches."""

__version__ = "0.1.0"
